/** `query`, `flush`, `log` and `list` against real daemons. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { packageVersion } from '../../src/contract/index.js';
import { assertOneLineError, CliSandbox, waitForOutput } from '../helpers/cli-sandbox.js';
import { daemonStatus, gitDirOf, startRealDaemon, stopDaemon } from '../helpers/git.js';
import { waitFor } from '../helpers/wait.js';

describe('cli query / flush', () => {
  const box = CliSandbox.forSuite();
  let wt: string;
  before(async () => {
    wt = box.repo('q');
    await startRealDaemon(wt);
  });

  /** A token as git gets one: from an answer (which pins it), not from the status snapshot. */
  const token = async () => {
    const r = await box.run(['query', '0'], wt);
    return r.lines[0]!.replace(/\\0$/, '');
  };

  test('query shows the token and each changed path on its own line, NULs as \\0', async () => {
    const t = await token();
    fs.writeFileSync(path.join(wt, 'new file.txt'), 'x\n');
    fs.writeFileSync(path.join(wt, 'two\nlines'), 'x\n');
    const r = await box.run(['query', t], wt);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.lines[0]!, /^builtin:[^:]+:\d+\\0$/);
    assert.deepEqual(r.lines.slice(1).sort(), ['new file.txt\\0', 'two\\nlines\\0']);
  });

  test('query --raw prints the bytes git would get', async () => {
    const t = await token();
    fs.writeFileSync(path.join(wt, 'raw.txt'), 'x\n');
    const r = await box.run(['query', '--raw', t], wt);
    assert.equal(r.code, 0);
    const fields = r.stdout.split('\0');
    assert.match(fields[0]!, /^builtin:[^:]+:\d+$/);
    assert.deepEqual(fields.slice(1), ['raw.txt', '']);
  });

  test('an unknown token gets "/" (rescan everything)', async () => {
    const r = await box.run(['query', '0'], wt);
    assert.equal(r.code, 0);
    assert.equal(r.lines.length, 2);
    assert.equal(r.lines[1], '/\\0');
  });

  test('flush prints the new token; older tokens then get "/"', async () => {
    const old = await token();
    assert.notEqual((await box.run(['query', old], wt)).lines[1], '/\\0');
    const r = await box.run(['flush'], wt);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.lines.length, 1);
    const m = /^flushed: new token (builtin:[^:]+:\d+)$/.exec(r.lines[0]!);
    assert.ok(m, r.lines[0]);
    assert.notEqual(m[1], old);
    const q = await box.run(['query', old], wt);
    assert.equal(q.lines[1], '/\\0');
  });
});

describe('cli log', () => {
  const box = CliSandbox.forSuite();

  test('log prints the rotated file, then the current one; -n keeps the last lines', async () => {
    const wt = box.repo('log');
    await startRealDaemon(wt);
    await stopDaemon(wt);
    const file = path.join(gitDirOf(wt), 'fsmond', 'daemon.log');
    fs.writeFileSync(`${file}.1`, 'rotated line 1\nrotated line 2\n');
    const r = await box.run(['log'], wt);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.lines.slice(0, 2), ['rotated line 1', 'rotated line 2']);
    assert.ok(r.lines.some((l) => / info: git-fsmond \S+ listening on '/.test(l)));
    assert.match(r.lines.at(-1)!, / info: shutting down: quit requested$/);
    const tail = await box.run(['log', '-n', '1'], wt);
    assert.deepEqual(tail.lines, [r.lines.at(-1)]);
    const none = await box.run(['log', '-n', '0'], wt);
    assert.deepEqual(none.lines, []);
  });

  test('log -f follows appends and rotations, and waits for a log that does not exist yet', async () => {
    const wt = box.repo('follow');
    const dir = path.join(gitDirOf(wt), 'fsmond');
    const file = path.join(dir, 'daemon.log');
    const child = box.spawn(['log', '-f'], wt);
    await new Promise((r) => setTimeout(r, 300)); // let it find no file
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(file, 'first\n');
    await waitForOutput(child, (o) => o.stdout === 'first\n');
    fs.appendFileSync(file, 'second\n');
    await waitForOutput(child, (o) => o.stdout === 'first\nsecond\n');
    // Rotation as the daemon's logger does it: rename to .1, then a new file.
    fs.appendFileSync(file, 'last of old\n');
    fs.renameSync(file, `${file}.1`);
    fs.writeFileSync(file, 'new file\n');
    await waitForOutput(child, (o) => o.stdout === 'first\nsecond\nlast of old\nnew file\n');
    assert.equal(child.output.stderr, '');
    child.kill('SIGTERM');
  });

  test('log -f shows what a real daemon writes', async () => {
    const wt = box.repo('follow-daemon');
    const child = box.spawn(['log', '-f'], wt);
    await startRealDaemon(wt);
    await waitForOutput(child, (o) => / info: watching \d+ directories/.test(o.stdout));
    await stopDaemon(wt);
    await waitForOutput(child, (o) => / info: shutting down: quit requested\n$/.test(o.stdout));
    child.kill('SIGTERM');
  });
});

describe('cli list', () => {
  const box = CliSandbox.forSuite();

  test('nothing enabled', async () => {
    const r = await box.run(['list'], box.dir('empty'));
    assert.equal(r.code, 0);
    assert.deepEqual(r.lines, ["no worktrees enabled: run 'git fsmond enable' in one"]);
  });

  test('watching, stopped and missing worktrees; --json; --prune forgets the missing', async () => {
    const [a, b, c] = [box.repo('a'), box.repo('b'), box.repo('c')];
    for (const wt of [a, b, c]) assert.equal((await box.run(['enable'], wt)).code, 0);
    await stopDaemon(b);
    await stopDaemon(c);
    fs.rmSync(c, { recursive: true, force: true });
    const pid = (await daemonStatus(a))!.pid;
    const cwd = box.dir('elsewhere');

    const r = await box.run(['list'], cwd);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.lines.length, 3, r.stdout);
    assert.match(
      r.lines[0]!,
      new RegExp(
        `^watching {5}${a} \\(pid ${pid}, \\d+\\.\\d MiB, up \\d+s, idle \\d+s, v\\d+\\.\\d+\\.\\d+\\)$`,
      ),
    );
    assert.deepEqual(r.lines.slice(1), [
      `stopped      ${b}`,
      `missing      ${c} (no such directory)`,
    ]);

    const json = JSON.parse((await box.run(['list', '--json'], cwd)).stdout);
    const none = { recorded: true, version: null, rssBytes: null, uptimeMs: null, idleMs: null };
    assert.equal(json[0].version, packageVersion());
    assert.ok(json[0].rssBytes > 0 && json[0].uptimeMs >= 0 && json[0].idleMs >= 0);
    assert.deepEqual(json, [
      { ...json[0], worktree: a, state: 'watching', pid, reason: null, recorded: true },
      { worktree: b, state: 'stopped', pid: null, reason: null, ...none },
      { worktree: c, state: 'missing', pid: null, reason: 'no such directory', ...none },
    ]);

    const pruned = await box.run(['list', '--prune'], cwd);
    assert.equal(pruned.lines[2], `missing      ${c} (no such directory), forgotten`);
    const after = await box.run(['list'], cwd);
    assert.equal(after.lines.length, 2);
    assert.match(after.lines[0]!, new RegExp(`^watching {5}${a} \\(pid ${pid},`));
    assert.equal(after.lines[1], `stopped      ${b}`);
  });

  test('daemons of a global enable: list shows them, disable --global and stop --all stop them', async () => {
    const [g1, g2, local] = [box.repo('g1'), box.repo('g2'), box.repo('local')];
    assert.equal((await box.run(['enable', '--global'], box.root)).code, 0);
    assert.equal((await box.run(['enable'], local)).code, 0);
    // The first git command in each starts its daemon through the shim.
    for (const wt of [g1, g2]) box.git(wt, ['status', '--porcelain']);
    await waitFor(
      'both daemons',
      async () => (await daemonStatus(g1)) !== null && (await daemonStatus(g2)) !== null,
    );
    const pids = [(await daemonStatus(g1))!.pid, (await daemonStatus(g2))!.pid];

    const listed = JSON.parse((await box.run(['list', '--json'], box.root)).stdout);
    for (const [i, wt] of [g1, g2].entries()) {
      const e = listed.find((x: { worktree: string }) => x.worktree === wt);
      assert.equal(e?.recorded, false, wt);
      assert.equal(e.pid, pids[i]);
      assert.equal(e.version, packageVersion());
    }
    const text = (await box.run(['list'], box.root)).stdout;
    assert.match(text, new RegExp(`${g1} \\(pid ${pids[0]}, .*not recorded by enable\\)`));

    const off = await box.run(['disable', '--global'], box.root);
    assert.equal(off.code, 0, off.stderr);
    for (const [i, wt] of [g1, g2].entries()) {
      assert.ok(
        off.lines.includes(
          `stopped daemon (pid ${pids[i]}) for '${wt}', which only the global setting enabled`,
        ),
        off.stdout,
      );
      assert.equal(await daemonStatus(wt), null);
    }
    assert.notEqual(
      await daemonStatus(local),
      null,
      'a repository that enables itself keeps its daemon',
    );

    const localPid = (await daemonStatus(local))!.pid;
    const all = await box.run(['stop', '--all'], box.root);
    assert.equal(all.code, 0, all.stderr);
    // The earlier test's daemon for 'a' runs too: --all stops every one.
    assert.ok(all.lines.includes(`stopped daemon (pid ${localPid}) for '${local}'`), all.stdout);
    const states = JSON.parse((await box.run(['list', '--json'], box.root)).stdout);
    assert.deepEqual(
      states.filter((e: { pid: number | null }) => e.pid !== null),
      [],
      'no daemon left',
    );
    const again = await box.run(['stop', '--all'], box.root);
    assert.equal(again.code, 0);
    assert.match(again.stderr, /^note: no daemon of yours is running: nothing to stop\n$/);
  });

  test('restart replaces the daemon; status --json shows its version', async () => {
    const wt = box.repo('restarted');
    assert.equal((await box.run(['start'], wt)).code, 0);
    const before = (await daemonStatus(wt))!;
    assert.equal(before.version, packageVersion());
    const r = await box.run(['restart'], wt);
    assert.equal(r.code, 0, r.stderr);
    const after = (await daemonStatus(wt))!;
    assert.notEqual(after.pid, before.pid);
    assert.deepEqual(r.lines, [
      `stopped daemon (pid ${before.pid})`,
      `started daemon (pid ${after.pid}), watching 3 directories in '${wt}'`,
    ]);
    const json = JSON.parse((await box.run(['status', '--json'], wt)).stdout);
    assert.equal(json.version, packageVersion());
    await stopDaemon(wt);
  });

  test('a worktree that is no longer a repository is missing', async () => {
    const wt = box.repo('unmade');
    assert.equal((await box.run(['enable'], wt)).code, 0);
    await stopDaemon(wt);
    fs.rmSync(path.join(wt, '.git'), { recursive: true, force: true });
    const r = await box.run(['list', '--json'], box.root);
    const entry = JSON.parse(r.stdout).find((e: { worktree: string }) => e.worktree === wt);
    assert.equal(entry.state, 'missing');
    assertOneLineError(await box.run(['status'], wt), 1, /not a git repository/);
  });
});
