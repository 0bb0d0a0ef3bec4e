/** `doctor`: one ok / warn / fail line per check, exit 1 only when something fails. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { type CliResult, CliSandbox } from '../helpers/cli-sandbox.js';
import { C_SHIM, gitDirOf, stopDaemon } from '../helpers/git.js';

const CHECKS = [
  'git',
  'core.fsmonitor',
  'core.fsmonitorHookVersion',
  'core.untrackedCache',
  'settings',
  'untracked cache',
  'inotify limits',
  'filesystem',
  'shim',
  'mode',
  'daemon',
];

/** check name → [status, rest of the line] */
function parse(r: CliResult): Map<string, [string, string]> {
  const map = new Map<string, [string, string]>();
  for (const line of r.lines) {
    const m = /^(ok {2}|warn|fail) ([^:]+): (.*)$/.exec(line);
    assert.ok(m, `a check line: ${line}`);
    map.set(m[2]!, [m[1]!.trim(), m[3]!]);
  }
  return map;
}

/** The message of check `name`, which must be a warning. */
function warning(checks: Map<string, [string, string]>, name: string): string {
  const [status, message] = checks.get(name)!;
  assert.equal(status, 'warn', `${name}: ${message}`);
  return message;
}

const hasDaemonFeature = /^feature: fsmonitor--daemon$/m.test(
  execFileSync('git', ['version', '--build-options'], { encoding: 'utf8' }),
);

describe('cli doctor', () => {
  const box = CliSandbox.forSuite();

  test('an enabled, running repository: every check, nothing fails, exit 0', async () => {
    const wt = box.repo('healthy');
    assert.equal((await box.run(['enable'], wt)).code, 0);
    box.git(wt, ['status', '--porcelain']); // builds the untracked cache through the daemon
    const r = await box.run(['doctor'], wt);
    assert.equal(r.code, 0, r.stdout);
    assert.equal(r.stderr, '');
    const checks = parse(r);
    assert.deepEqual([...checks.keys()], CHECKS);
    for (const name of ['core.fsmonitor', 'core.fsmonitorHookVersion', 'core.untrackedCache']) {
      assert.equal(checks.get(name)![0], 'ok', name);
    }
    assert.equal(checks.get('settings')![0], 'ok');
    assert.deepEqual(checks.get('untracked cache'), ['ok', 'the index has an untracked cache']);
    assert.match(
      checks.get('git')![1],
      /^git \d+\.\d+\S*: hook protocol v2 works; core\.fsmonitor=true \(IPC\) /,
    );
    assert.match(
      checks.get('inotify limits')![1],
      /^\d+ directories to watch; max_user_watches=\d+, max_user_instances=\d+/,
    );
    assert.equal(checks.get('shim')![0], fs.existsSync(C_SHIM) ? 'ok' : 'warn');
    assert.match(checks.get('shim')![1], /^the (C|Node) shim ran here/);
    assert.match(checks.get('daemon')![1], /^pid \d+ answers, watching \d+ directories$/);
    assert.equal(checks.get('daemon')![0], 'ok');

    const json = await box.run(['doctor', '--json'], wt);
    assert.equal(json.code, 0);
    const doc = JSON.parse(json.stdout);
    assert.equal(doc.ok, true);
    assert.deepEqual(
      doc.checks.map((c: { check: string }) => c.check),
      CHECKS,
    );
    for (const c of doc.checks) {
      assert.ok(['ok', 'warn', 'fail'].includes(c.status));
      assert.equal(typeof c.message, 'string');
      assert.ok(c.advice === null || typeof c.advice === 'string');
    }
    await stopDaemon(wt);
  });

  test('not enabled: core.fsmonitor fails with advice, exit 1', async () => {
    const wt = box.repo('plain');
    const r = await box.run(['doctor'], wt);
    assert.equal(r.code, 1);
    const checks = parse(r);
    assert.deepEqual(checks.get('core.fsmonitor'), [
      'fail',
      "core.fsmonitor is unset; fix: run 'git fsmond enable'",
    ]);
    assert.equal(checks.get('core.fsmonitorHookVersion'), undefined, 'only asked of a hook');
    assert.equal(checks.get('core.untrackedCache')![0], 'warn');
    assert.deepEqual(checks.get('daemon'), [
      'warn',
      "not running (git starts it with its next command); fix: run 'git fsmond start' to start it now",
    ]);
    const json = JSON.parse((await box.run(['doctor', '--json'], wt)).stdout);
    assert.equal(json.ok, false);
  });

  test('core.fsmonitor=true on a git without the daemon feature: a warning', {
    skip: hasDaemonFeature,
  }, async () => {
    const wt = box.repo('ipc');
    box.git(wt, ['config', 'core.fsmonitor', 'true']);
    box.git(wt, ['config', 'core.untrackedCache', 'true']);
    const r = await box.run(['doctor'], wt);
    const [status, message] = parse(r).get('core.fsmonitor')!;
    assert.equal(status, 'warn');
    assert.match(
      message,
      /^core\.fsmonitor=true \(local config\), but git \S+ has no fsmonitor--daemon: it silently rescans everything; fix: run 'git fsmond enable'$/,
    );
    assert.match(parse(r).get('git')![1], /core\.fsmonitor=true \(IPC\) does not work with it/);
    assert.equal(r.code, 0, 'warnings alone do not fail');
  });

  test('a hook that does not exist fails; bad fsmond.* values and unknown keys warn', async () => {
    const wt = box.repo('broken');
    box.git(wt, ['config', 'core.fsmonitor', '/nonexistent/fsmond-hook']);
    box.git(wt, ['config', 'fsmond.logLevel', 'verbose']);
    box.git(wt, ['config', 'fsmond.cookieTimeoutMs', '2s']);
    box.git(wt, ['config', 'fsmond.logLevl', 'debug']);
    const r = await box.run(['doctor'], wt);
    assert.equal(r.code, 1);
    const checks = parse(r);
    assert.deepEqual(checks.get('core.fsmonitor'), [
      'fail',
      "core.fsmonitor=/nonexistent/fsmond-hook (local config) is not an executable file; fix: run 'git fsmond enable'",
    ]);
    const message = warning(checks, 'settings');
    assert.match(
      message,
      /fsmond\.logLevel=verbose is not one of debug, info, warn, error, so the default is used/,
    );
    assert.match(message, /fsmond\.cookieTimeoutMs=2s is not an integer/);
    assert.match(message, /unknown key fsmond\.loglevl/);
  });

  test("another program as core.fsmonitor, parcel on Linux, waits past the shim's: warnings", async () => {
    const wt = box.repo('other-hook');
    box.git(wt, ['config', 'core.fsmonitor', '/usr/bin/true']);
    box.git(wt, ['config', 'fsmond.backend', 'parcel']);
    box.git(wt, ['config', 'fsmond.cookieTimeoutMs', '99999999999']);
    const checks = parse(await box.run(['doctor'], wt));
    assert.deepEqual(checks.get('core.fsmonitor'), [
      'warn',
      "core.fsmonitor=/usr/bin/true (local config) is not git-fsmond's shim; fix: run 'git fsmond enable'",
    ]);
    assert.deepEqual(checks.get('shim'), [
      'warn',
      "git runs another fsmonitor hook, not git-fsmond's shim: the daemon is never asked; fix: run 'git fsmond enable' (disable puts the other hook back)",
    ]);
    const message = warning(checks, 'settings');
    assert.match(
      message,
      /fsmond\.cookieTimeoutMs=99999999999 is above the maximum 10000, so 10000 is used/,
    );
    assert.match(
      message,
      /fsmond\.readyTimeoutMs \+ fsmond\.cookieTimeoutMs = 10250 ms, not below the 900 ms/,
    );
    if (process.platform === 'linux')
      assert.match(message, /fsmond\.backend=parcel loses events on Linux/);
  });

  test('a hook command line with shell characters warns (git runs it through sh)', async () => {
    const wt = box.repo('shell');
    box.git(wt, ['config', 'core.fsmonitor', `${C_SHIM} --verbose`]);
    const [status, message] = parse(await box.run(['doctor'], wt)).get('core.fsmonitor')!;
    assert.equal(status, 'warn');
    assert.match(message, /has shell characters, so git runs it through sh/);
  });

  test('a refusal the daemon recorded: doctor fails the daemon check, status gives the reason', async () => {
    const wt = box.repo('refused');
    const stateDir = path.join(gitDirOf(wt), 'fsmond');
    fs.mkdirSync(stateDir, { mode: 0o700 });
    // What a daemon that refuses for a lasting reason leaves behind (src/daemon/startup.ts).
    fs.writeFileSync(path.join(stateDir, 'refused'), 'the worktree is on a planet far away\n');
    const r = await box.run(['doctor'], wt);
    assert.equal(r.code, 1);
    assert.deepEqual(parse(r).get('daemon'), [
      'fail',
      "not running: its last start was refused: the worktree is on a planet far away; fix: fix that, then run 'git fsmond start'",
    ]);
    const status = await box.run(['status'], wt);
    assert.equal(status.code, 1);
    assert.deepEqual(status.lines, [
      `not watching '${wt}': the daemon refused to start: the worktree is on a planet far away`,
    ]);
    const json = JSON.parse((await box.run(['status', '--json'], wt)).stdout);
    assert.equal(json.lastError, 'the worktree is on a planet far away');
  });

  test('outside a repository: the machine checks, then repository fails, exit 1', async () => {
    const r = await box.run(['doctor'], box.dir('nowhere'));
    assert.equal(r.code, 1);
    const checks = parse(r);
    assert.deepEqual([...checks.keys()], ['git', 'repository', 'inotify limits']);
    assert.match(checks.get('repository')![1], /^not a git repository: '.*nowhere'$/);
    assert.equal(checks.get('repository')![0], 'fail');
  });
});
