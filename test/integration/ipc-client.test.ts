/** The client: state probe and the error codes of sendRequest. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { type TestContext, test } from 'node:test';
import { IpcClientError, sendRequest, socketState, startServer } from '../../src/ipc/index.js';
import { makeDeadSocket, reversed, startFixtureServer } from '../helpers/ipc-util.js';
import { scratchDir } from '../helpers/scratch.js';
import { waitFor } from '../helpers/wait.js';

const fails = (code: IpcClientError['code'], message?: RegExp) => (err: unknown) => {
  assert.ok(err instanceof IpcClientError, `IpcClientError, got ${String(err)}`);
  assert.equal(err.code, code, err.message);
  if (message) assert.match(err.message, message);
  return true;
};

/** A raw server that reacts to a connection with `onConnection`. */
async function rawServer(
  t: TestContext,
  sock: string,
  onConnection: (c: net.Socket) => void,
): Promise<void> {
  const open = new Set<net.Socket>();
  const server = net.createServer((c) => {
    open.add(c);
    c.on('close', () => open.delete(c));
    c.on('error', () => {});
    onConnection(c);
  });
  await new Promise<void>((resolve) => server.listen({ path: sock }, resolve));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const c of open) c.destroy();
      }),
  );
}

test('socketState reports each of the four states', async (t) => {
  const dir = scratchDir('fsmond-', t);
  const file = path.join(dir, 'file');
  fs.writeFileSync(file, 'x');
  assert.equal(await socketState(path.join(dir, 'missing')), 'not-found');
  assert.equal(await socketState(path.join(file, 'below-a-file')), 'not-found'); // ENOTDIR
  assert.equal(await socketState(file), 'invalid');
  assert.equal(await socketState(dir), 'invalid');

  const dead = path.join(dir, 'dead.ipc');
  await makeDeadSocket(dead);
  assert.equal(await socketState(dead), 'not-listening');

  const live = path.join(dir, 'live.ipc');
  let requests = 0;
  const server = await startServer({
    socketPath: live,
    handler: async () => {
      requests++;
      return { payload: [] };
    },
  });
  t.after(() => server.close());
  assert.equal(await socketState(live), 'listening');
  // A symlink to a live socket is not a socket itself (git: INVALID_PATH).
  const link = path.join(dir, 'link.ipc');
  fs.symlinkSync(live, link);
  assert.equal(await socketState(link), 'invalid');
  // The probe is a ping: it never reaches the handler.
  await waitFor('probe connections closed', () => server.connections() === 0);
  assert.equal(requests, 0);
});

test('sendRequest error codes: not-found, not-listening', async (t) => {
  const dir = scratchDir('fsmond-', t);
  await assert.rejects(
    sendRequest(path.join(dir, 'missing'), Buffer.from('x')),
    fails('not-found'),
  );
  const dead = path.join(dir, 'dead.ipc');
  await makeDeadSocket(dead);
  await assert.rejects(sendRequest(dead, Buffer.from('x')), fails('not-listening'));
});

test('sendRequest error codes: timeout, protocol, closed', async (t) => {
  const dir = scratchDir('fsmond-', t);
  const silent = path.join(dir, 'silent.ipc');
  await rawServer(t, silent, () => {});
  await assert.rejects(sendRequest(silent, Buffer.from('x'), { timeoutMs: 200 }), fails('timeout'));

  const garbage = path.join(dir, 'garbage.ipc');
  await rawServer(t, garbage, (c) => c.end('zzzz'));
  await assert.rejects(sendRequest(garbage, Buffer.from('x')), fails('protocol'));

  const cut = path.join(dir, 'cut.ipc');
  await rawServer(t, cut, (c) => c.once('data', () => c.end('0008ab')));
  await assert.rejects(sendRequest(cut, Buffer.from('x')), fails('closed'));

  const hangup = path.join(dir, 'hangup.ipc');
  await rawServer(t, hangup, (c) => c.destroy());
  await assert.rejects(sendRequest(hangup, Buffer.from('x')), fails('closed'));
});

test('a request over the server limit ends as closed, and the server keeps serving', async (t) => {
  const sock = path.join(scratchDir('fsmond-', t), 's.ipc');
  const server = await startServer({
    socketPath: sock,
    maxRequestBytes: 1024,
    handler: async (r) => ({ payload: [reversed(r)] }),
  });
  t.after(() => server.close());
  await assert.rejects(sendRequest(sock, Buffer.alloc(1024 * 1024, 'a')), fails('closed'));
  assert.equal((await sendRequest(sock, Buffer.from('ab'))).toString(), 'ba');
});

test('a full backlog (EAGAIN) is retried for busyRetryMs, then reported as a busy timeout', async (t) => {
  const dir = scratchDir('fsmond-', t);
  const sock = path.join(dir, 's.ipc');
  const unblock = path.join(dir, 'unblock');
  // The fixture stops running its event loop after `ready`, so connections pile up.
  await startFixtureServer(t, sock, [`--block-until=${unblock}`]);
  const fillers: net.Socket[] = [];
  t.after(() => {
    for (const c of fillers) c.destroy();
  });
  for (let full = false; !full && fillers.length < 5000; ) {
    full = await new Promise<boolean>((resolve) => {
      const c = net.connect({ path: sock });
      c.once('connect', () => {
        fillers.push(c);
        resolve(false);
      });
      c.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'EAGAIN'));
    });
  }
  assert.equal(await socketState(sock), 'listening', 'busy is still alive');
  await assert.rejects(
    sendRequest(sock, Buffer.from('x'), { busyRetryMs: 100, timeoutMs: 600_000 }),
    fails('timeout', /busy/),
  );

  // With room to wait, the request goes through once the server drains its backlog.
  const pending = sendRequest(sock, Buffer.from('patience'), { busyRetryMs: 600_000 });
  fs.writeFileSync(unblock, '');
  assert.equal((await pending).toString(), 'ecneitap');
});
