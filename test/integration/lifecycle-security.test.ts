/**
 * Self-protection: owner-only files; symlinks planted where the daemon's files go are refused,
 * never followed; no path outside the worktree is ever served; every request is capped in size
 * and in time; the log is bounded; the environment of the git command that started the daemon
 * does not steer the daemon's own git calls.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, test } from 'node:test';
import { sendRequest } from '../../src/ipc/index.js';
import {
  C_SHIM,
  GIT_ENV,
  git,
  gitDirOf,
  LAUNCHER,
  makeRepo,
  socketOf,
  statusAt,
  statusOracle,
  statusWithMonitor,
  stopDaemon,
  testShim,
} from '../helpers/git.js';
import {
  alive,
  exitAfter,
  gitGuarded,
  mode,
  query,
  readLog,
  trackForCleanup,
} from '../helpers/lifecycle-util.js';
import { scratchDir } from '../helpers/scratch.js';
import { waitFor } from '../helpers/wait.js';

const track = trackForCleanup();

function repo() {
  const parent = scratchDir('fsmond-sec-');
  const wt = makeRepo({ parent });
  return { parent, wt, gitDir: gitDirOf(wt), sock: socketOf(wt) };
}

describe('files readable only by their owner', () => {
  test('socket 0600, fsmond/ and cookies/ 0700, log 0600, even if they were looser', async () => {
    const { wt, gitDir, sock } = repo();
    fs.mkdirSync(path.join(gitDir, 'fsmond'), { mode: 0o755 });
    fs.chmodSync(path.join(gitDir, 'fsmond'), 0o755);
    fs.writeFileSync(path.join(gitDir, 'fsmond', 'daemon.log'), 'old\n', { mode: 0o644 });
    fs.chmodSync(path.join(gitDir, 'fsmond', 'daemon.log'), 0o644);
    await track.serve(wt);
    assert.equal(mode(sock), 0o600);
    assert.equal(mode(path.join(gitDir, 'fsmond')), 0o700);
    assert.equal(mode(path.join(gitDir, 'fsmond', 'cookies')), 0o700);
    assert.equal(mode(path.join(gitDir, 'fsmond', 'daemon.log')), 0o600);
    await stopDaemon(wt);
  });
});

describe('symlinks planted where the daemon writes', () => {
  for (const where of ['socket', 'lock'] as const) {
    test(`at the ${where} path: refused, the target untouched, git still right`, async () => {
      const { parent, wt, gitDir, sock } = repo();
      const target = path.join(parent, `target-of-${where}`);
      fs.writeFileSync(target, 'do not touch\n');
      fs.symlinkSync(target, where === 'socket' ? sock : `${sock}.lock`);
      assert.match(await track.refusal(wt), /symlink; refusing to use it/);
      assert.equal(fs.readFileSync(target, 'utf8'), 'do not touch\n');
      assert.ok(fs.existsSync(path.join(gitDir, 'fsmond', 'refused')), 'refusal recorded');
      // The shim does not wait for a daemon that would refuse again; git rescans.
      const r = await gitGuarded(wt, ['status', '--porcelain=v2', '--untracked-files=all']);
      assert.equal(r.hung, false);
      assert.equal(r.stdout, statusOracle(wt));
      assert.equal(fs.readFileSync(target, 'utf8'), 'do not touch\n');
    });
  }

  test('at fsmond/: refused, nothing written or chmodded through it', async () => {
    const { parent, wt, gitDir } = repo();
    const target = path.join(parent, 'elsewhere');
    fs.mkdirSync(target, { mode: 0o755 });
    fs.chmodSync(target, 0o755);
    fs.symlinkSync(target, path.join(gitDir, 'fsmond'));
    assert.match(await track.refusal(wt), /fsmond' is a symlink; refusing to use it/);
    assert.deepEqual(fs.readdirSync(target), []);
    assert.equal(mode(target), 0o755);
  });

  test('at the log path: never written through; the daemon runs on', async () => {
    const { parent, wt, gitDir } = repo();
    const target = path.join(parent, 'log-target');
    fs.writeFileSync(target, 'do not touch\n');
    fs.mkdirSync(path.join(gitDir, 'fsmond'), { mode: 0o700 });
    fs.symlinkSync(target, path.join(gitDir, 'fsmond', 'daemon.log'));
    await track.serve(wt);
    assert.equal(statusWithMonitor(wt), statusOracle(wt));
    await stopDaemon(wt);
    assert.equal(fs.readFileSync(target, 'utf8'), 'do not touch\n');
  });
});

describe('the state dir swapped for a symlink while the daemon runs', () => {
  test('log rotation, cookies, a second start and the shutdown never touch the target', async () => {
    const { parent, wt, gitDir, sock } = repo();
    git(wt, ['config', 'fsmond.logLevel', 'debug']);
    git(wt, ['config', 'fsmond.logMaxBytes', '4096']);
    const victim = path.join(parent, 'victim');
    fs.mkdirSync(path.join(victim, 'cookies'), { recursive: true });
    // Already past logMaxBytes: a daemon writing here would rotate it at once.
    fs.writeFileSync(path.join(victim, 'daemon.log'), 'victim\n'.repeat(1000));
    const snapshot = () =>
      ['.', 'cookies', 'daemon.log'].map((f) => {
        const st = fs.statSync(path.join(victim, f));
        return [f, st.mtimeMs, st.ctimeMs, st.mode, st.size];
      });
    const d = await track.serve(wt);
    const token = (await query(sock, '0')).token;
    const before = snapshot();
    const listing = fs.readdirSync(victim).sort();

    const real = path.join(gitDir, 'fsmond-real');
    fs.renameSync(path.join(gitDir, 'fsmond'), real);
    fs.symlinkSync(victim, path.join(gitDir, 'fsmond'));
    fs.writeFileSync(path.join(wt, 'after-swap'), 'x\n');
    // Each unknown token is one debug line: enough to rotate a 4 KiB log several times.
    for (let i = 0; i < 100; i++) await query(sock, `builtin:unknown-${'x'.repeat(40)}:${i}`);
    const { paths } = await query(sock, token);
    assert.ok(paths.includes('after-swap') || paths[0] === '/', JSON.stringify(paths));
    // A second daemon refuses the symlink, and the first one's shutdown logs and cleans up.
    assert.match(await track.refusal(wt), /fsmond' is a symlink; refusing to use it/);
    d.child.kill('SIGTERM');
    await exitAfter(d, Date.now());

    assert.deepEqual(fs.readdirSync(victim).sort(), listing, 'nothing created or removed');
    assert.deepEqual(fs.readdirSync(path.join(victim, 'cookies')), []);
    assert.deepEqual(snapshot(), before, 'nothing written, rotated or chmodded');
    // The lines went to the real state dir, through the handle the daemon kept.
    const log = fs.readFileSync(path.join(real, 'daemon.log'), 'utf8');
    assert.match(log + fs.readFileSync(path.join(real, 'daemon.log.1'), 'utf8'), /shutting down/);
  });
});

describe('repository config is attacker-controlled', () => {
  test('fsmond.cookieTimeoutMs=99999999999 is clamped: answers stay incremental', async () => {
    const { wt, sock } = repo();
    git(wt, ['config', 'fsmond.cookieTimeoutMs', '99999999999']);
    await track.serve(wt);
    let token = (await query(sock, '0')).token;
    for (let i = 0; i < 5; i++) {
      fs.writeFileSync(path.join(wt, `f${i}`), `${i}\n`);
      const a = await query(sock, token);
      assert.deepEqual(a.paths, [`f${i}`], `answer ${i}`);
      token = a.token;
    }
    assert.equal(statusWithMonitor(wt), statusOracle(wt));
    await stopDaemon(wt);
  });
});

describe('requests', () => {
  test('never a path outside the worktree (symlinks, directories moved out)', async () => {
    const { parent, wt, sock } = repo();
    const outside = path.join(parent, 'outside');
    fs.mkdirSync(path.join(outside, 'sub'), { recursive: true });
    fs.symlinkSync(outside, path.join(wt, 'link'));
    fs.mkdirSync(path.join(wt, 'leaving'));
    await track.serve(wt);
    const t = (await query(sock, '0')).token;
    fs.renameSync(path.join(wt, 'leaving'), path.join(parent, 'left'));
    for (const dir of [outside, path.join(outside, 'sub'), path.join(parent, 'left')]) {
      fs.writeFileSync(path.join(dir, 'f'), 'outside\n');
    }
    fs.writeFileSync(path.join(wt, 'inside'), 'inside\n');
    await new Promise((r) => setTimeout(r, 1500)); // past the moved-out directory's hold time
    fs.writeFileSync(path.join(parent, 'left', 'g'), 'outside, later\n');
    const { paths } = await query(sock, t);
    assert.ok(paths.includes('inside'), JSON.stringify(paths));
    for (const p of paths) {
      assert.ok(p !== '' && !p.startsWith('/'), `relative: ${p}`);
      assert.ok(!p.split('/').includes('..'), `no ..: ${p}`);
      assert.ok(!p.startsWith('link/') && !p.startsWith('left'), `outside: ${p}`);
      assert.ok(!p.startsWith('leaving/') || p === 'leaving', `moved out: ${p}`);
    }
    assert.equal(statusWithMonitor(wt), statusOracle(wt));
    await stopDaemon(wt);
  });

  test('a request over 64 KiB is dropped; the daemon serves on', async () => {
    const { wt, sock, gitDir } = repo();
    await track.serve(wt);
    await assert.rejects(sendRequest(sock, Buffer.alloc(70 * 1024, 'a')), { code: 'closed' });
    assert.deepEqual((await query(sock, 'builtin:x:0')).paths, ['/']);
    assert.match(readLog(gitDir), /dropping client: .*(too|large|big|exceeds)/i);
    await stopDaemon(wt);
  });

  test('a request that never completes is dropped after 5 s; others are served meanwhile', async () => {
    const { wt, sock, gitDir } = repo();
    await track.serve(wt);
    const half = net.connect(sock);
    half.on('error', () => {});
    const closed = new Promise<void>((resolve) => half.on('close', () => resolve()));
    half.write('0010builtin'); // a packet announced as 12 bytes of payload, 7 sent
    for (let i = 0; i < 3; i++) assert.equal((await query(sock, '0')).paths[0], '/');
    let guard: NodeJS.Timeout | undefined;
    await Promise.race([
      closed,
      new Promise((_, reject) => {
        guard = setTimeout(() => reject(new Error('connection still open after 30 s')), 30_000);
      }),
    ]);
    clearTimeout(guard);
    assert.match(readLog(gitDir), /dropping client: no whole request after 5000 ms/);
    await stopDaemon(wt);
  });
});

describe('the log', () => {
  test('is bounded: rotated to daemon.log.1 beyond fsmond.logMaxBytes', async () => {
    const { wt, gitDir, sock } = repo();
    git(wt, ['config', 'fsmond.logLevel', 'debug']);
    git(wt, ['config', 'fsmond.logMaxBytes', '4096']);
    await track.serve(wt);
    // Each unknown token is answered `/` with one debug line.
    for (let i = 0; i < 150; i++) await query(sock, `builtin:unknown-${'x'.repeat(40)}:${i}`);
    const log = path.join(gitDir, 'fsmond', 'daemon.log');
    assert.ok(fs.statSync(log).size <= 4096, `${fs.statSync(log).size} bytes`);
    assert.ok(fs.statSync(`${log}.1`).size <= 4096);
    assert.equal(mode(log), 0o600);
    assert.equal(mode(`${log}.1`), 0o600);
    assert.match(fs.readFileSync(log, 'utf8'), /answered \/ to 'builtin:unknown-/);
    await stopDaemon(wt);
  });
});

describe('the environment of the git command that started the daemon', () => {
  test('per-command git variables do not reach its own git calls', async (t) => {
    if (testShim() !== C_SHIM) {
      t.skip('needs the C shim');
      return;
    }
    const { parent, wt, gitDir, sock } = repo();
    const trace = path.join(parent, 'trace2.json');
    // As git runs a hook for `git -c x=y commit` with GIT_TRACE2 on: the shim starts the daemon.
    const env = {
      ...GIT_ENV,
      GIT_DIR: '.git',
      GIT_WORK_TREE: parent,
      GIT_INDEX_FILE: path.join(gitDir, 'index.lock'),
      GIT_CONFIG_PARAMETERS: "'fsmond.loglevel'='debug'",
      GIT_TRACE2_EVENT: trace,
      GIT_TRACE: trace,
      GIT_PREFIX: 'src/',
    };
    const r = spawnSync(C_SHIM, ['2', ''], { cwd: wt, env, encoding: 'latin1', timeout: 30_000 });
    assert.equal(r.status, 0);
    await waitFor('the daemon', async () => (await statusAt(sock))?.watching === true);
    const st = (await statusAt(sock))!;
    // /proc/<pid>/environ shows the environment as exec'd, not as scrubbed; what counts is
    // what the daemon's own git calls saw: the right worktree, no trace, no `-c` override.
    assert.equal(st.worktree, wt, 'GIT_WORK_TREE did not redirect it');
    assert.equal(st.gitDir, gitDir);
    assert.ok(!fs.existsSync(trace), 'its git calls wrote no trace');
    assert.doesNotMatch(readLog(gitDir), / debug: /, 'the -c of that command did not stick');
    fs.writeFileSync(path.join(wt, 'src/a.txt'), 'edited\n');
    assert.equal(statusWithMonitor(wt), statusOracle(wt));
    await stopDaemon(wt);
    assert.ok(!alive(Number(st.pid)));
  });
});

describe('the socket under a permissive umask', () => {
  // Connects as another user to every socket that appears in the git dir, as soon as it
  // appears (inotify) and in a spin as well; prints how many connects succeeded and how many
  // were refused, the refusals proving it reached the sockets at all.
  const PROBER = `
    const fs = require('fs'), net = require('net'), path = require('path');
    const dir = process.argv[1];
    let connected = 0, refused = 0, seen = 0;
    const tried = new Set();
    const probe = (name) => {
      if (!name || (!name.endsWith('.sock') && name !== 'fsmonitor--daemon.ipc')) return;
      seen++;
      const c = net.connect(path.join(dir, name));
      c.on('connect', () => { connected++; c.destroy(); });
      c.on('error', (e) => { if (e.code === 'EACCES') refused++; });
    };
    fs.watch(dir, (_, name) => probe(name));
    const spin = () => { try { for (const n of fs.readdirSync(dir)) probe(n); } catch {} setImmediate(spin); };
    spin();
    process.stdin.on('end', () => { console.log(JSON.stringify({ connected, refused, seen })); process.exit(0); });
    process.stdin.resume();
  `;

  test('another user never connects, not even while the daemon binds', async (t) => {
    if (process.getuid?.() !== 0) return t.skip('needs root to run a client as another user');
    if (spawnSync('setpriv', ['--version']).error) return t.skip('setpriv is not installed');
    const { parent, wt, gitDir } = repo();
    // The other user must reach the git dir, or the test would prove nothing.
    fs.chmodSync(parent, 0o755);
    const prober = spawn(
      'setpriv',
      ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '-e', PROBER, gitDir],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    let out = '';
    prober.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    await new Promise((r) => setTimeout(r, 300)); // its watch is in place
    for (let i = 0; i < 10; i++) {
      const d = spawn('sh', ['-c', 'umask 000; exec "$0" daemon "$1"', LAUNCHER, wt], {
        env: GIT_ENV,
        stdio: 'ignore',
      });
      await waitFor('daemon to watch', async () => (await statusAt(socketOf(wt)))?.pid === d.pid);
      await stopDaemon(wt);
    }
    prober.stdin.end();
    await new Promise((r) => prober.once('exit', r));
    const result = JSON.parse(out) as { connected: number; refused: number; seen: number };
    assert.ok(result.refused > 0, `the prober reached the sockets: ${out}`);
    assert.equal(result.connected, 0, `another user connected: ${out}`);
  });
});
