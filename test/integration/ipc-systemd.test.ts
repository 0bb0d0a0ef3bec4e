/**
 * IPC mode end to end with a real systemd user manager (a private one, test/helpers/
 * user-manager.ts): `enable` writes and starts the units and sets core.fsmonitor=true; git
 * 2.55 then gets our daemon after a kill -9 and a `stop` too, never its builtin (trace2
 * child_start count: zero); `disable` removes everything; a deleted worktree retires its
 * units. The oracle is `git -c core.fsmonitor=false status`.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { socketPathFor } from '../../src/contract/index.js';
import { unitBaseName } from '../../src/service/index.js';
import { CliSandbox } from '../helpers/cli-sandbox.js';
import { builtinSpawns, type CompatGit, findCompatGit } from '../helpers/compat-git.js';
import { daemonStatus, gitDirOf } from '../helpers/git.js';
import { scratchDir } from '../helpers/scratch.js';
import { UserManager, userManagerSkip } from '../helpers/user-manager.js';
import { waitFor } from '../helpers/wait.js';

const found = findCompatGit();
const skip = ('skip' in found ? found.skip : false) || userManagerSkip();
if (skip) console.log(`# skipping the systemd IPC tests: ${skip}`);
const compat = found as CompatGit;
const STATUS = ['status', '--porcelain=v2', '--untracked-files=all'];

describe('IPC mode under a systemd user manager', { skip }, () => {
  let box: CliSandbox;
  let manager: UserManager;
  let env: Record<string, string>;
  let trace: string;
  before(async () => {
    box = new CliSandbox();
    const runtime = scratchDir('fsmond-xdg-run-');
    fs.chmodSync(runtime, 0o700);
    const bin = box.dir('git-2.55-bin');
    fs.writeFileSync(
      path.join(bin, 'git'),
      `#!/bin/sh\nGIT_EXEC_PATH='${path.dirname(compat.bin)}' exec '${compat.bin}' "$@"\n`,
      { mode: 0o755 },
    );
    env = { PATH: `${bin}${path.delimiter}${process.env.PATH}`, XDG_RUNTIME_DIR: runtime };
    manager = new UserManager({ ...box.env, ...env });
    await manager.start();
    trace = path.join(box.dir('trace'), 'trace2.json');
  });
  after(async () => {
    await manager?.stop();
    await box?.cleanup();
  });

  const git = (wt: string, args: string[], extra: Record<string, string> = {}) =>
    execFileSync(compat.bin, args, {
      cwd: wt,
      env: { ...box.env, ...env, ...compat.env, ...extra },
      encoding: 'latin1',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  const withMonitor = (wt: string) => git(wt, STATUS, { GIT_TRACE2_EVENT: trace });
  const oracle = (wt: string) =>
    git(wt, ['--no-optional-locks', '-c', 'core.fsmonitor=false', ...STATUS]);
  const unitFile = (wt: string, suffix: string) =>
    path.join(
      box.env.XDG_CONFIG_HOME!,
      'systemd',
      'user',
      `${unitBaseName(gitDirOf(wt))}${suffix}`,
    );
  const pid = async (wt: string) => (await daemonStatus(wt))?.pid;

  let wt: string;
  test('enable: units written and listening, core.fsmonitor=true, the daemon started', async () => {
    wt = box.repo('ipc');
    box.git(wt, ['config', 'fsmond.cookieTimeoutMs', '5000']);
    const r = await box.run(['enable'], wt, env);
    assert.equal(r.code, 0, r.stderr);
    const unit = `${unitBaseName(gitDirOf(wt))}.socket`;
    assert.equal(
      r.lines[0],
      `${unit} listens on '${socketPathFor(gitDirOf(wt))}' (systemd --user, enabled at log-in)`,
    );
    assert.ok(r.lines.includes('set core.fsmonitor=true in local config (was unset)'), r.stdout);
    assert.match(
      r.lines.at(-1)!,
      /^systemd started the daemon \(pid \d+\) on the first connection$/,
    );
    assert.doesNotMatch(r.stderr, /hook mode/);
    assert.ok(fs.existsSync(unitFile(wt, '.socket')) && fs.existsSync(unitFile(wt, '.service')));
    const status = JSON.parse((await box.run(['status', '--json'], wt, env)).stdout);
    assert.equal(status.mode, 'ipc');
    assert.equal(status.socketActivated, true);
  });

  test('git 2.55 gets our daemon, right answers, no builtin', async () => {
    const before = await pid(wt);
    for (const [rel, text] of [
      ['new.txt', 'n\n'],
      ['README.md', 'changed\n'],
    ] as const) {
      fs.writeFileSync(path.join(wt, rel), text);
      assert.equal(withMonitor(wt), oracle(wt));
    }
    const s = (await daemonStatus(wt))!;
    assert.equal(s.pid, before);
    assert.ok(s.queries >= 2, `queries: ${s.queries}`);
    assert.equal(builtinSpawns(trace), 0);
  });

  test('after kill -9 the next git command gets a new daemon of ours', async () => {
    const old = (await pid(wt))!;
    process.kill(old, 'SIGKILL');
    await waitFor('the old daemon gone', () => !fs.existsSync(`/proc/${old}`));
    fs.writeFileSync(path.join(wt, 'after-kill.txt'), 'k\n');
    assert.equal(withMonitor(wt), oracle(wt));
    const now = (await daemonStatus(wt))!;
    assert.notEqual(now.pid, old);
    assert.equal(now.socketActivated, true);
    assert.equal(builtinSpawns(trace), 0);
  });

  test('stop: systemd stops it, the socket keeps listening, git restarts it', async () => {
    const old = (await pid(wt))!;
    const r = await box.run(['stop'], wt, env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.lines[0],
      `stopped daemon (pid ${old}), which systemd started: its socket keeps listening, so the next git command starts it again`,
    );
    fs.writeFileSync(path.join(wt, 'after-stop.txt'), 's\n');
    assert.equal(withMonitor(wt), oracle(wt));
    assert.notEqual(await pid(wt), old);
    assert.equal(builtinSpawns(trace), 0);
  });

  test('restart: systemd starts a new daemon', async () => {
    const old = (await pid(wt))!;
    const r = await box.run(['restart'], wt, env);
    assert.equal(r.code, 0, r.stderr);
    const now = (await daemonStatus(wt))!;
    assert.notEqual(now.pid, old);
    assert.equal(now.socketActivated, true);
    assert.equal(now.watching, true, 'restart returns once watching, as it does in hook mode');
    assert.equal(
      r.lines.at(-1),
      `started daemon (pid ${now.pid}), watching ${now.watchedDirectories} directories in '${wt}'`,
    );
  });

  test('doctor: the mode line names the socket unit', async () => {
    const r = await box.run(['doctor'], wt, env);
    const line = r.lines.find((l) => l.includes(' mode: '));
    assert.match(
      line ?? '',
      /^ok {3}mode: ipc: via socket activation: .*\.socket \(systemd --user\) holds the socket/,
    );
  });

  test('disable: config first, then the units and the socket are gone', async () => {
    const r = await box.run(['disable'], wt, env);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.lines.includes('unset core.fsmonitor in local config'), r.stdout);
    assert.ok(
      r.lines.some((l) => /^removed .*\.socket and .*\.service$/.test(l)),
      r.stdout,
    );
    assert.equal(fs.existsSync(unitFile(wt, '.socket')), false);
    assert.equal(fs.lstatSync(socketPathFor(gitDirOf(wt)), { throwIfNoEntry: false }), undefined);
    assert.equal(builtinSpawns(trace), 0);
  });

  test('a deleted worktree: its daemon exits and retires the units', async () => {
    const gone = box.repo('deleted');
    assert.equal((await box.run(['enable'], gone, env)).code, 0);
    const socketUnit = unitFile(gone, '.socket');
    const daemon = (await pid(gone))!;
    fs.rmSync(gone, { recursive: true, force: true });
    await waitFor('the daemon to exit', () => !fs.existsSync(`/proc/${daemon}`), {
      timeoutMs: 15_000,
    });
    await waitFor('its units removed', () => !fs.existsSync(socketUnit), { timeoutMs: 15_000 });
  });
});
