/**
 * IPC mode (core.fsmonitor=true, git >= 2.55) with the socket held by a service manager, as
 * `enable` sets it up under systemd --user (docs/ipc-mode.md). systemd-socket-activate speaks
 * the same protocol without a running systemd: it listens at git's socket path and, on the
 * first connection, execs the daemon with the listening socket as fd 3. The oracle is
 * `git -c core.fsmonitor=false status`; git's trace2 log counts the builtin daemons it starts.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { SOCKET_UNIT_ENV, unitBaseName } from '../../src/service/index.js';
import { builtinSpawns, type CompatGit, findCompatGit, onPath } from '../helpers/compat-git.js';
import { daemonStatus, GIT_ENV, gitDirOf, LAUNCHER, makeRepo } from '../helpers/git.js';
import { scratchDir } from '../helpers/scratch.js';
import { waitFor } from '../helpers/wait.js';

const found = findCompatGit();
const activator = onPath('systemd-socket-activate');
const skip =
  'skip' in found
    ? found.skip
    : activator
      ? false
      : 'systemd-socket-activate not found (Debian package systemd)';
if (skip) console.log(`# skipping IPC activation tests: ${skip}`);
const compat = found as CompatGit;

const STATUS = ['status', '--porcelain=v2', '--untracked-files=all'];

function git255(wt: string, args: string[], env: Record<string, string> = {}): string {
  return execFileSync(compat.bin, args, {
    cwd: wt,
    env: { ...GIT_ENV, ...compat.env, ...env },
    encoding: 'latin1',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** A repository git 2.55 monitors over IPC, with no daemon of anyone's yet. */
function ipcRepo(files: Record<string, string>): { wt: string; socket: string } {
  const wt = makeRepo({ files, monitor: false });
  git255(wt, ['config', 'core.fsmonitor', 'true']);
  git255(wt, ['config', 'core.untrackedCache', 'true']);
  // Two loaded cores can hold a cookie past the default; the answer would be a correct `/`.
  git255(wt, ['config', 'fsmond.cookieTimeoutMs', '5000']);
  return { wt, socket: path.join(gitDirOf(wt), 'fsmonitor--daemon.ipc') };
}

/** The variables our test git environment sets: systemd-socket-activate passes only PATH & co. */
function passedEnv(): string[] {
  const keys = ['GIT_CONFIG_NOSYSTEM', 'XDG_CONFIG_HOME', 'GIT_FSMOND_RUNTIME_DIR'];
  return keys.filter((k) => GIT_ENV[k] !== undefined).map((k) => `-E${k}=${GIT_ENV[k]}`);
}

describe('IPC mode with the socket held by a service manager', { skip }, () => {
  const files = { 'README.md': 'hello\n', 'src/a.txt': 'a\n', 'src/deep/b.txt': 'b\n' };
  const { wt, socket } = skip ? { wt: '', socket: '' } : ipcRepo(files);
  const trace = skip ? '' : path.join(scratchDir('fsmond-trace-'), 'trace2.json');
  let holder: ChildProcess;
  let exited: Promise<number | null>;
  after(() => {
    holder?.kill('SIGKILL');
  });

  const withMonitor = () => git255(wt, STATUS, { GIT_TRACE2_EVENT: trace });
  const oracle = () => git255(wt, ['--no-optional-locks', '-c', 'core.fsmonitor=false', ...STATUS]);

  // As if our socket unit had started it: the daemon retires "its" units when the worktree
  // goes. No user manager need answer (none does here): the files go either way.
  const unit = skip ? '' : `${unitBaseName(gitDirOf(wt))}.socket`;
  const unitFile = (suffix: string) =>
    path.join(GIT_ENV.XDG_CONFIG_HOME!, 'systemd', 'user', unit.replace(/\.socket$/, suffix));

  test('the first git command starts our daemon on the held socket, not git’s builtin', async () => {
    fs.mkdirSync(path.dirname(unitFile('.socket')), { recursive: true });
    for (const suffix of ['.socket', '.service'])
      fs.writeFileSync(unitFile(suffix), '# stand-in\n');
    const asUnit = `-E${SOCKET_UNIT_ENV}=${unit}`;
    holder = spawn(activator!, ['-l', socket, ...passedEnv(), asUnit, LAUNCHER, 'daemon', wt], {
      env: GIT_ENV,
      stdio: 'ignore',
    });
    exited = new Promise((resolve) => holder.once('exit', (code) => resolve(code)));
    await waitFor(
      'the held socket',
      () => fs.lstatSync(socket, { throwIfNoEntry: false })?.isSocket() === true,
    );
    assert.equal(withMonitor(), oracle());
    const s = await daemonStatus(wt);
    assert.ok(s, 'a daemon answers on the socket');
    // systemd-socket-activate execs the daemon itself: same pid.
    assert.equal(s.pid, holder.pid, 'our daemon, started by the socket holder');
    assert.equal(s.socketActivated, true);
    assert.ok(s.queries >= 1, `git asked our daemon (queries: ${s.queries})`);
    assert.equal(builtinSpawns(trace), 0, 'git started no fsmonitor--daemon');
  });

  test('answers match the oracle after real edits', async () => {
    const edits: Array<() => void> = [
      () => fs.writeFileSync(path.join(wt, 'src/a.txt'), 'changed\n'),
      () => fs.writeFileSync(path.join(wt, 'new.txt'), 'new\n'),
      () => fs.rmSync(path.join(wt, 'README.md')),
      () => fs.renameSync(path.join(wt, 'src/deep'), path.join(wt, 'src/moved')),
      () => fs.writeFileSync(path.join(wt, 'src/moved/b.txt'), 'edited under the new name\n'),
      () => fs.mkdirSync(path.join(wt, 'fresh/dir'), { recursive: true }),
      () => fs.writeFileSync(path.join(wt, 'fresh/dir/c.txt'), 'c\n'),
    ];
    const before = (await daemonStatus(wt))!;
    for (const edit of edits) {
      edit();
      assert.equal(withMonitor(), oracle());
    }
    const now = (await daemonStatus(wt))!;
    assert.equal(now.pid, before.pid, 'the same daemon served every command');
    assert.ok(
      now.queries >= before.queries + edits.length,
      `queries ${before.queries} -> ${now.queries}`,
    );
    assert.ok(now.answers > 0, 'some answers were incremental, not all `/`');
    assert.equal(builtinSpawns(trace), 0, 'git started no fsmonitor--daemon');
  });

  test('the daemon exits when its worktree is deleted, and removes its units', async () => {
    fs.rmSync(path.dirname(wt), { recursive: true, force: true });
    const guard = new Promise<'hang'>((r) => setTimeout(() => r('hang'), 15_000).unref());
    assert.equal(await Promise.race([exited, guard]), 0);
    assert.equal(fs.existsSync(unitFile('.socket')), false, 'socket unit removed');
    assert.equal(fs.existsSync(unitFile('.service')), false, 'service unit removed');
  });
});

describe('the builtin-spawn count', { skip: 'skip' in found ? found.skip : false }, () => {
  test('sees git start its builtin daemon when nothing holds the socket', () => {
    const { wt } = ipcRepo({ 'a.txt': 'a\n' });
    const trace = path.join(scratchDir('fsmond-trace-'), 'trace2.json');
    try {
      git255(wt, STATUS, { GIT_TRACE2_EVENT: trace });
      assert.ok(builtinSpawns(trace) >= 1, 'git 2.55 spawned fsmonitor--daemon');
    } finally {
      try {
        git255(wt, ['fsmonitor--daemon', 'stop']);
      } catch {
        // it may have given up by itself
      }
    }
  });
});
