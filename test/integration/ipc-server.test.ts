/** Serving: concurrency, big messages, quit, permissions, long paths. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { type TestContext, test } from 'node:test';
import {
  type IpcServer,
  type Reply,
  SUN_PATH_MAX,
  sendRequest,
  socketState,
  startServer,
} from '../../src/ipc/index.js';
import { deepDir, pattern, reversed, startFixtureServer } from '../helpers/ipc-util.js';
import { scratchDir } from '../helpers/scratch.js';
import { waitFor, withHangGuard } from '../helpers/wait.js';

const echo = async (request: Buffer): Promise<Reply> => ({ payload: [reversed(request)] });

async function serve(t: TestContext, opts: Parameters<typeof startServer>[0]): Promise<IpcServer> {
  const server = await startServer(opts);
  t.after(() => server.close());
  return server;
}

test('50 concurrent clients x 20 requests each, served by another process, all answered right', async (t) => {
  const sock = path.join(scratchDir('fsmond-', t), 'fsmonitor--daemon.ipc');
  await startFixtureServer(t, sock);
  const clients = Array.from({ length: 50 }, async (_, c) => {
    for (let r = 0; r < 20; r++) {
      const request = Buffer.concat([
        Buffer.from(`client ${c} request ${r} `),
        pattern(c * 37 + r, r),
      ]);
      const answer = await sendRequest(sock, request, { timeoutMs: 120_000 });
      assert.ok(answer.equals(reversed(request)), `answer to client ${c} request ${r}`);
    }
  });
  await Promise.all(clients);
});

test('multi-megabyte request and response cross packet boundaries intact', async (t) => {
  const sock = path.join(scratchDir('fsmond-', t), 's.ipc');
  const big = pattern(6 * 1024 * 1024 + 17, 11);
  await serve(t, {
    socketPath: sock,
    maxRequestBytes: 16 * 1024 * 1024,
    handler: async (request) => {
      if (request.toString() !== 'big') return echo(request);
      // Odd chunk sizes so chunk and packet boundaries never line up.
      const chunks: Buffer[] = [];
      for (let pos = 0, step = 3; pos < big.length; pos += step, step = (step * 5 + 1) % 200_000) {
        chunks.push(big.subarray(pos, pos + step));
      }
      return { payload: chunks };
    },
  });
  const request = pattern(3 * 1024 * 1024 + 5, 12);
  const echoed = await sendRequest(sock, request, { timeoutMs: 120_000 });
  assert.ok(echoed.equals(reversed(request)), 'echo of a 3 MB request');
  const response = await sendRequest(sock, Buffer.from('big'), { timeoutMs: 120_000 });
  assert.equal(response.length, big.length);
  assert.ok(response.equals(big), '6 MB response');
});

test('quit: an empty answer, then afterSend closes the server and the socket is gone', async (t) => {
  const dir = scratchDir('fsmond-', t);
  const sock = path.join(dir, 's.ipc');
  let closed: Promise<void> | undefined;
  let delivered: boolean | undefined;
  const server: IpcServer = await serve(t, {
    socketPath: sock,
    handler: async (request) => {
      if (request.toString() !== 'quit') return echo(request);
      return {
        payload: [],
        afterSend: (ok) => {
          delivered = ok;
          closed = server.close();
        },
      };
    },
  });
  const answer = await sendRequest(sock, Buffer.from('quit'));
  assert.equal(answer.length, 0);
  await waitFor('afterSend', () => closed !== undefined);
  assert.equal(delivered, true);
  await withHangGuard('close()', closed!);
  assert.equal(fs.existsSync(sock), false, 'socket file removed when close() resolves');
  assert.deepEqual(fs.readdirSync(dir), [], 'no lock or temporary file left');
  assert.equal(await socketState(sock), 'not-found');
});

test('quit in another process: the answer arrives, the process exits 0, the socket is gone', async (t) => {
  const dir = scratchDir('fsmond-', t);
  const sock = path.join(dir, 's.ipc');
  const fx = await startFixtureServer(t, sock);
  assert.equal((await sendRequest(sock, Buffer.from('quit'))).length, 0);
  assert.equal(await withHangGuard('fixture exit', fx.exited), 0);
  assert.deepEqual(fs.readdirSync(dir), []);
});

test('socket is mode 0600 and nothing else is left next to it', async (t) => {
  const dir = scratchDir('fsmond-', t);
  const sock = path.join(dir, 's.ipc');
  const old = process.umask(0o000); // the most permissive umask must not leak into the socket
  try {
    await serve(t, { socketPath: sock, handler: echo });
  } finally {
    process.umask(old);
  }
  const st = fs.lstatSync(sock);
  assert.ok(st.isSocket());
  assert.equal(st.mode & 0o777, 0o600);
  assert.equal(st.nlink, 1, 'the temporary hard link is gone');
  assert.deepEqual(fs.readdirSync(dir), ['s.ipc']);
});

test('requests containing NUL bytes reach the handler unchanged', async (t) => {
  const sock = path.join(scratchDir('fsmond-', t), 's.ipc');
  const seen: Buffer[] = [];
  await serve(t, {
    socketPath: sock,
    handler: async (request) => {
      seen.push(request);
      return { payload: [Buffer.from('ok')] };
    },
  });
  const request = Buffer.from('builtin:a\0b:1\0');
  assert.equal((await sendRequest(sock, request)).toString(), 'ok');
  assert.deepEqual(seen, [request]);
});

test('a socket path longer than sun_path works for server and client, at the right place', async (t) => {
  const base = scratchDir('fsmond-', t);
  const dir = deepDir(base, 250);
  const sock = path.join(dir, 'fsmonitor--daemon.ipc');
  assert.ok(Buffer.byteLength(sock) > 200);
  const cwd = process.cwd();

  // Server in another process, client here.
  const fx = await startFixtureServer(t, sock);
  assert.ok(fs.lstatSync(sock).isSocket(), 'socket at the full path');
  assert.equal(await socketState(sock), 'listening');
  const request = Buffer.from('deep request');
  assert.ok((await sendRequest(sock, request)).equals(reversed(request)));
  assert.equal((await sendRequest(sock, Buffer.from('pid'))).toString(), String(fx.child.pid));
  assert.equal(process.cwd(), cwd, 'cwd restored');

  // Node truncates to the first 107 bytes: nothing may exist there, nor anywhere else in the tree.
  const truncated = Buffer.from(sock).subarray(0, SUN_PATH_MAX).toString();
  assert.equal(fs.existsSync(truncated), false, 'nothing at the truncated path');
  const sockets = (fs.readdirSync(base, { recursive: true }) as string[])
    .map((rel) => path.join(base, rel))
    .filter((p) => fs.lstatSync(p).isSocket());
  assert.deepEqual(sockets, [sock]);

  assert.equal((await sendRequest(sock, Buffer.from('quit'))).length, 0);
  assert.equal(await withHangGuard('fixture exit', fx.exited), 0);
  assert.equal(fs.existsSync(sock), false, 'removed at the full path on exit');

  // Server here too: start, serve, close.
  const server = await startServer({ socketPath: sock, handler: echo });
  assert.ok(fs.lstatSync(sock).isSocket());
  assert.ok((await sendRequest(sock, request)).equals(reversed(request)));
  await server.close();
  assert.equal(fs.existsSync(sock), false);
  assert.deepEqual(fs.readdirSync(dir), []);
  assert.equal(process.cwd(), cwd);
});
