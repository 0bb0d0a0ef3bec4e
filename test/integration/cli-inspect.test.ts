/** `query`, `flush`, `log` and `list` against real daemons. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { assertOneLineError, CliSandbox, waitForOutput } from '../helpers/cli-sandbox.js';
import { daemonStatus, gitDirOf, startDaemon, stopDaemon } from '../helpers/git.js';

describe('cli query / flush', () => {
  let box: CliSandbox;
  let wt: string;
  before(async () => {
    box = new CliSandbox();
    wt = box.repo('q');
    await startDaemon(wt);
  });
  after(() => box.cleanup());

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
  let box: CliSandbox;
  before(() => {
    box = new CliSandbox();
  });
  after(() => box.cleanup());

  test('log prints the rotated file, then the current one; -n keeps the last lines', async () => {
    const wt = box.repo('log');
    await startDaemon(wt);
    await stopDaemon(wt);
    const file = path.join(gitDirOf(wt), 'fsmond', 'daemon.log');
    fs.writeFileSync(`${file}.1`, 'rotated line 1\nrotated line 2\n');
    const r = await box.run(['log'], wt);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.lines.slice(0, 2), ['rotated line 1', 'rotated line 2']);
    assert.ok(r.lines.some((l) => / info: listening on '/.test(l)));
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
    await startDaemon(wt);
    await waitForOutput(child, (o) => / info: watching \d+ directories/.test(o.stdout));
    await stopDaemon(wt);
    await waitForOutput(child, (o) => / info: shutting down: quit requested\n$/.test(o.stdout));
    child.kill('SIGTERM');
  });
});

describe('cli list', () => {
  let box: CliSandbox;
  before(() => {
    box = new CliSandbox();
  });
  after(() => box.cleanup());

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
    assert.deepEqual(r.lines, [
      `watching     ${a} (pid ${pid})`,
      `stopped      ${b}`,
      `missing      ${c} (no such directory)`,
    ]);

    const json = JSON.parse((await box.run(['list', '--json'], cwd)).stdout);
    assert.deepEqual(json, [
      { worktree: a, state: 'watching', pid, reason: null },
      { worktree: b, state: 'stopped', pid: null, reason: null },
      { worktree: c, state: 'missing', pid: null, reason: 'no such directory' },
    ]);

    const pruned = await box.run(['list', '--prune'], cwd);
    assert.equal(pruned.lines[2], `missing      ${c} (no such directory), forgotten`);
    const after = await box.run(['list'], cwd);
    assert.deepEqual(after.lines, [`watching     ${a} (pid ${pid})`, `stopped      ${b}`]);
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
