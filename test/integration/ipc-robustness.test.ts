/** Misbehaving clients cost one connection, never the server. */
import assert from 'node:assert/strict';
import net from 'node:net';
import path from 'node:path';
import { type TestContext, test } from 'node:test';
import {
  type IpcServer,
  type LogLevel,
  type Reply,
  sendRequest,
  startServer,
} from '../../src/ipc/index.js';
import { writeMessage } from '../../src/ipc/write-message.js';
import { pattern, rawExchange, reversed, startFixtureServer } from '../helpers/ipc-util.js';
import { scratchDir } from '../helpers/scratch.js';
import { waitFor, withHangGuard } from '../helpers/wait.js';

const BIG_RESPONSE = pattern(8 * 1024 * 1024, 3);

async function handler(request: Buffer): Promise<Reply> {
  const text = request.toString('latin1');
  if (text === 'throw') throw new Error('handler exploded');
  if (text === 'big') return { payload: [BIG_RESPONSE] };
  return { payload: [reversed(request)] };
}

interface Harness {
  sock: string;
  server: IpcServer;
  logs: Array<{ level: LogLevel; msg: string }>;
  /** A well-behaved client still gets a correct answer. */
  healthy: () => Promise<void>;
}

async function harness(t: TestContext): Promise<Harness> {
  const sock = path.join(scratchDir('fsmond-', t), 's.ipc');
  const logs: Harness['logs'] = [];
  const server = await startServer({
    socketPath: sock,
    handler,
    maxRequestBytes: 1024,
    requestTimeoutMs: 300,
    log: (level, msg) => logs.push({ level, msg }),
  });
  t.after(() => server.close());
  const healthy = async () => {
    const request = Buffer.from(`good client ${Math.random()}`);
    assert.ok((await sendRequest(sock, request)).equals(reversed(request)));
  };
  return { sock, server, logs, healthy };
}

const dropped = async (sock: string, bytes: string | Buffer, opts?: { end?: boolean }) => {
  const { data } = await rawExchange(sock, bytes, opts);
  assert.equal(data.length, 0, `no answer to ${JSON.stringify(String(bytes).slice(0, 30))}`);
};

test('malformed pkt-lines drop only that connection', async (t) => {
  const h = await harness(t);
  await dropped(h.sock, 'zzzz0000'); // bad hex
  await dropped(h.sock, 'ffff'); // longer than a packet may be
  await dropped(h.sock, '0001'); // delim: not part of simple-ipc
  await dropped(h.sock, '0003');
  await dropped(h.sock, `0008abcd${'\u00ff'.repeat(4)}`);
  await dropped(h.sock, Buffer.concat([pattern(5000, 1)]));
  await h.healthy();
  assert.ok(h.logs.some((l) => l.level === 'warn' && /bad pkt-line/.test(l.msg)));
});

test('oversized requests are dropped: one huge packet, or many small ones', async (t) => {
  const h = await harness(t);
  await dropped(h.sock, `07d4${'x'.repeat(2000)}0000`); // 2000-byte packet, cap is 1024
  const packet = `0068${'y'.repeat(100)}`;
  await dropped(h.sock, `${packet.repeat(20)}0000`);
  await h.healthy();
});

test('a half request that stalls is dropped after requestTimeoutMs; one cut by EOF too', async (t) => {
  const h = await harness(t);
  await dropped(h.sock, '0010abc'); // no end: only the server's deadline can close it
  await dropped(h.sock, '0010abc', { end: true });
  await h.healthy();
  assert.ok(h.logs.some((l) => /no whole request/.test(l.msg)));
});

test('a ping (connect, then close) is quiet: nothing logged above debug', async (t) => {
  const h = await harness(t);
  await h.healthy();
  const before = h.logs.length;
  for (let i = 0; i < 5; i++) {
    await new Promise<void>((resolve, reject) => {
      const c = net.connect({ path: h.sock }, () => c.end());
      c.on('error', reject);
      c.on('close', () => resolve());
    });
  }
  await waitFor('ping connections closed', () => h.server.connections() === 0);
  const fromPings = h.logs.slice(before);
  assert.ok(fromPings.length >= 5, 'the server did see the pings');
  assert.deepEqual(
    fromPings.filter((l) => l.level !== 'debug'),
    [],
  );
  await h.healthy();
});

test('a client that leaves before reading a large answer (EPIPE) does not hurt anyone', async (t) => {
  const h = await harness(t);
  for (let i = 0; i < 3; i++) {
    await withHangGuard(
      'rude client',
      new Promise<void>((resolve, reject) => {
        const c = net.connect({ path: h.sock }, () => c.write('0007big0000'));
        c.once('data', () => c.destroy()); // the answer started: hang up mid-way
        c.on('error', reject);
        c.on('close', () => resolve());
      }),
    );
  }
  await waitFor('server dropped the rude connections', () => h.server.connections() === 0);
  assert.ok(
    h.logs.some((l) => /went away|EPIPE|ECONNRESET/.test(l.msg)),
    'the write did fail',
  );
  await h.healthy();
  const response = await sendRequest(h.sock, Buffer.from('big'), { timeoutMs: 120_000 });
  assert.ok(response.equals(BIG_RESPONSE), 'the next big answer is intact');
});

test('a handler that throws costs that connection only', async (t) => {
  const h = await harness(t);
  await dropped(h.sock, '0009throw0000');
  await h.healthy();
  assert.ok(h.logs.some((l) => l.level === 'error' && /handler exploded/.test(l.msg)));
});

test('0004 ends a request as git reads it; bytes after the end are ignored', async (t) => {
  const h = await harness(t);
  const { data } = await rawExchange(h.sock, '0007abc0004zzzz');
  assert.equal(data.toString(), '0007cba0000');
  const { data: half } = await rawExchange(h.sock, '0007abc0000', { end: true }); // half-close
  assert.equal(half.toString(), '0007cba0000');
});

test('close() waits for a request in progress, then removes the socket', async (t) => {
  const sock = path.join(scratchDir('fsmond-', t), 's.ipc');
  let release!: () => void;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  let entered = false;
  const server = await startServer({
    socketPath: sock,
    handler: async (request) => {
      entered = true;
      await gate;
      return { payload: [reversed(request)] };
    },
  });
  t.after(() => server.close());
  const pending = sendRequest(sock, Buffer.from('slow'));
  await waitFor('handler entered', () => entered);
  const idle = net.connect({ path: sock }); // connected but silent: dropped at close
  idle.on('error', () => {});
  const closing = server.close();
  release();
  assert.equal((await pending).toString(), 'wols');
  await withHangGuard('close', closing);
  await assert.rejects(sendRequest(sock, Buffer.from('late')), { code: 'not-found' });
});

test('the fixture process survives garbage and rude clients', async (t) => {
  const sock = path.join(scratchDir('fsmond-', t), 's.ipc');
  const fx = await startFixtureServer(t, sock, ['--request-timeout=300']);
  await dropped(sock, 'zzzz');
  await dropped(sock, '0002');
  await dropped(sock, '0010abc');
  await withHangGuard(
    'rude client',
    new Promise<void>((resolve) => {
      const c = net.connect({ path: sock }, () => c.write('000fbig:80000000000'));
      c.once('data', () => c.destroy());
      c.on('error', () => {});
      c.on('close', () => resolve());
    }),
  );
  const request = Buffer.from('still there?');
  assert.ok((await sendRequest(sock, request)).equals(reversed(request)));
  assert.equal(fx.child.exitCode, null, 'fixture still running');
  assert.doesNotMatch(fx.stderr(), /Error|EPIPE|ECONNRESET/);
});

test('a client that never reads a large response is dropped at the deadline, not twice it', async (t) => {
  const sock = path.join(scratchDir('fsmond-', t), 'w.ipc');
  const deadlineMs = 1500;
  const outcome = new Promise<{ delivered: boolean; ms: number }>((resolve) => {
    const srv = net.createServer({ allowHalfOpen: true }, (socket) => {
      const t0 = performance.now();
      const frames = Array.from({ length: 64 }, () => Buffer.alloc(65_520, 'x'));
      void writeMessage(socket, frames, deadlineMs).then((delivered) => {
        resolve({ delivered, ms: performance.now() - t0 });
        srv.close();
      });
    });
    srv.listen(sock);
  });
  await new Promise((r) => setTimeout(r, 50));
  const client = net.connect(sock);
  client.pause(); // never reads
  t.after(() => client.destroy());
  const { delivered, ms } = await withHangGuard('the writer to give up', outcome, {
    timeoutMs: 10_000,
  });
  assert.equal(delivered, false);
  assert.ok(ms >= deadlineMs - 50 && ms < deadlineMs * 1.5, `dropped after ${Math.round(ms)} ms`);
});
