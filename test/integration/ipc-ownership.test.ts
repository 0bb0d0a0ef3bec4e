/** Who owns the socket: live servers are never displaced, dead ones are reclaimed, theft is noticed. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { type TestContext, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  IpcClientError,
  type IpcServer,
  type Reply,
  SocketInUseError,
  SocketPathError,
  sendRequest,
  socketState,
  startServer,
} from '../../src/ipc/index.js';
import { makeDeadSocket, spawnFixture, startFixtureServer } from '../helpers/ipc-util.js';
import { scratchDir } from '../helpers/scratch.js';
import { waitFor, withHangGuard } from '../helpers/wait.js';

const answer = (text: string) => async (): Promise<Reply> => ({ payload: [Buffer.from(text)] });

async function serve(t: TestContext, opts: Parameters<typeof startServer>[0]): Promise<IpcServer> {
  const server = await startServer(opts);
  t.after(() => server.close());
  return server;
}

const identity = (p: string) => {
  const st = fs.lstatSync(p);
  return `${st.dev}:${st.ino}`;
};

test('a live socket owned by another process is never taken over', async (t) => {
  const dir = scratchDir('fsmond-', t);
  const sock = path.join(dir, 's.ipc');
  const first = await startFixtureServer(t, sock);
  const before = identity(sock);

  const second = spawnFixture(sock);
  assert.equal(await withHangGuard('second server exit', second.exited), 3);
  assert.match(second.stderr(), /socket '.*s\.ipc' is already in use by a live server/);

  await assert.rejects(
    startServer({ socketPath: sock, handler: answer('intruder') }),
    (err: unknown) =>
      err instanceof SocketInUseError &&
      err.message === `socket '${sock}' is already in use by a live server`,
  );

  assert.equal(identity(sock), before, 'socket untouched');
  assert.equal((await sendRequest(sock, Buffer.from('pid'))).toString(), String(first.child.pid));
  assert.deepEqual(fs.readdirSync(dir), ['s.ipc'], 'lock released, no temporary file left');
});

test('the socket of a server killed with SIGKILL is reclaimed at once', async (t) => {
  const dir = scratchDir('fsmond-', t);
  const sock = path.join(dir, 's.ipc');
  const killed = await startFixtureServer(t, sock);
  killed.child.kill('SIGKILL');
  assert.equal(await withHangGuard('killed fixture exit', killed.exited), 'SIGKILL');
  assert.ok(fs.lstatSync(sock).isSocket(), 'dead socket left behind');
  assert.equal(await socketState(sock), 'not-listening');
  await assert.rejects(
    sendRequest(sock, Buffer.from('x')),
    (err: unknown) => err instanceof IpcClientError && err.code === 'not-listening',
  );

  await serve(t, { socketPath: sock, handler: answer('new owner') });
  assert.equal((await sendRequest(sock, Buffer.from('x'))).toString(), 'new owner');
  assert.deepEqual(fs.readdirSync(dir), ['s.ipc']);
});

test('a server in another process notices its socket was replaced, exits, and spares the new one', async (t) => {
  const sock = path.join(scratchDir('fsmond-', t), 's.ipc');
  const first = await startFixtureServer(t, sock); // default stolenCheckMs (500)
  fs.unlinkSync(sock);
  const second = await serve(t, { socketPath: sock, handler: answer('second') });
  const secondId = identity(sock);

  // The fixture exits 4 from onStolen after close(); the guard is only against hangs.
  assert.equal(await withHangGuard('first server noticing the theft', first.exited), 4);
  assert.match(first.stdout(), /stolen/);
  assert.equal(identity(sock), secondId, 'the new socket survived the old server closing');
  assert.equal(await socketState(sock), 'listening');
  assert.equal((await sendRequest(sock, Buffer.from('x'))).toString(), 'second');
  assert.equal(second.stolen, false);
});

test('in-process theft: onStolen once, stolen is set, close() leaves the new owner alone', async (t) => {
  const sock = path.join(scratchDir('fsmond-', t), 's.ipc');
  let calls = 0;
  const first = await serve(t, {
    socketPath: sock,
    handler: answer('first'),
    stolenCheckMs: 20,
    onStolen: () => calls++,
  });
  fs.unlinkSync(sock);
  const second = await serve(t, { socketPath: sock, handler: answer('second') });
  await waitFor('theft noticed', () => first.stolen);
  await sleep(200); // many more check periods: onStolen must not run again
  assert.equal(calls, 1);
  await first.close();
  assert.ok(fs.lstatSync(sock).isSocket(), 'new socket still there');
  assert.equal((await sendRequest(sock, Buffer.from('x'))).toString(), 'second');
  assert.equal(second.stolen, false);
});

test('a socket path turned into a regular file counts as stolen, and the file is kept', async (t) => {
  const sock = path.join(scratchDir('fsmond-', t), 's.ipc');
  let calls = 0;
  const server = await serve(t, {
    socketPath: sock,
    handler: answer('x'),
    stolenCheckMs: 20,
    onStolen: () => calls++,
  });
  fs.unlinkSync(sock);
  fs.writeFileSync(sock, 'user data');
  await waitFor('theft noticed', () => server.stolen);
  await server.close();
  assert.equal(calls, 1);
  assert.equal(fs.readFileSync(sock, 'utf8'), 'user data');
});

test('a symlink at the socket path is refused and left alone', async (t) => {
  const dir = scratchDir('fsmond-', t);
  const sock = path.join(dir, 's.ipc');
  const target = path.join(dir, 'target');
  fs.writeFileSync(target, 'precious');
  fs.symlinkSync(target, sock);
  await assert.rejects(
    startServer({ socketPath: sock, handler: answer('x') }),
    (err: unknown) => err instanceof SocketPathError && /symlink/.test(err.message),
  );
  assert.ok(fs.lstatSync(sock).isSymbolicLink());
  assert.equal(fs.readFileSync(target, 'utf8'), 'precious');

  // A dangling one too (it would otherwise be "missing" to stat).
  fs.unlinkSync(sock);
  fs.symlinkSync(path.join(dir, 'nowhere'), sock);
  await assert.rejects(startServer({ socketPath: sock, handler: answer('x') }), SocketPathError);
  assert.ok(fs.lstatSync(sock).isSymbolicLink());
  assert.deepEqual(fs.readdirSync(dir).sort(), ['s.ipc', 'target'], 'lock released');
});

test('a symlink at the lock path is refused and its target is not created', async (t) => {
  const dir = scratchDir('fsmond-', t);
  const sock = path.join(dir, 's.ipc');
  const target = path.join(dir, 'created-through-link');
  fs.symlinkSync(target, `${sock}.lock`);
  await assert.rejects(
    startServer({ socketPath: sock, handler: answer('x') }),
    (err: unknown) => err instanceof SocketPathError && /symlink/.test(err.message),
  );
  assert.equal(fs.existsSync(target), false);
  assert.ok(fs.lstatSync(`${sock}.lock`).isSymbolicLink());
  assert.equal(fs.existsSync(sock), false);
});

test('a regular file or a directory at the socket path is not deleted', async (t) => {
  const dir = scratchDir('fsmond-', t);
  const sock = path.join(dir, 's.ipc');
  fs.writeFileSync(sock, 'user file');
  await assert.rejects(
    startServer({ socketPath: sock, handler: answer('x') }),
    (err: unknown) => err instanceof SocketPathError && /not a socket/.test(err.message),
  );
  assert.equal(fs.readFileSync(sock, 'utf8'), 'user file');

  fs.unlinkSync(sock);
  fs.mkdirSync(sock);
  await assert.rejects(startServer({ socketPath: sock, handler: answer('x') }), SocketPathError);
  assert.ok(fs.statSync(sock).isDirectory());
  assert.deepEqual(fs.readdirSync(dir), ['s.ipc']);
});

test('a missing directory is a SocketPathError', async (t) => {
  const sock = path.join(scratchDir('fsmond-', t), 'no', 'such', 's.ipc');
  await assert.rejects(startServer({ socketPath: sock, handler: answer('x') }), SocketPathError);
});

test('a held lock makes a second starter give up without touching anything', async (t) => {
  const dir = scratchDir('fsmond-', t);
  const sock = path.join(dir, 's.ipc');
  await makeDeadSocket(sock);
  const before = identity(sock);
  fs.writeFileSync(`${sock}.lock`, `${process.pid}\n`); // fresh, owner alive
  await assert.rejects(
    startServer({ socketPath: sock, handler: answer('x') }),
    (err: unknown) => err instanceof SocketInUseError && /being claimed/.test(err.message),
  );
  assert.equal(fs.readFileSync(`${sock}.lock`, 'utf8'), `${process.pid}\n`);
  assert.equal(identity(sock), before, 'dead socket not touched without the lock');
});

test('a stale lock (old, owner dead) is taken over', async (t) => {
  const sock = path.join(scratchDir('fsmond-', t), 's.ipc');
  const dead = spawnSync(process.execPath, ['-e', '']).pid!;
  fs.writeFileSync(`${sock}.lock`, `${dead}\n`);
  const old = new Date(Date.now() - 10_000);
  fs.utimesSync(`${sock}.lock`, old, old);
  await serve(t, { socketPath: sock, handler: answer('took over') });
  assert.equal((await sendRequest(sock, Buffer.from('x'))).toString(), 'took over');
  assert.equal(fs.existsSync(`${sock}.lock`), false);
});

test('a very old lock is stale even if its pid is alive (pid reuse after a reboot)', async (t) => {
  const sock = path.join(scratchDir('fsmond-', t), 's.ipc');
  fs.writeFileSync(`${sock}.lock`, `${process.pid}\n`);
  const old = new Date(Date.now() - 600_000);
  fs.utimesSync(`${sock}.lock`, old, old);
  await serve(t, { socketPath: sock, handler: answer('ok') });
  assert.equal(await socketState(sock), 'listening');
});
