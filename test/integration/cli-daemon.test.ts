/** `start`, `run`, `stop` and `status` with real daemons. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { REQUEST } from '../../src/contract/index.js';
import { startServer } from '../../src/ipc/index.js';
import { assertOneLineError, CliSandbox, exited, waitForOutput } from '../helpers/cli-sandbox.js';
import { daemonStatus, socketOf, waitFor } from '../helpers/git.js';

const gone = (pid: number) => {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
};

describe('cli start / stop / status', () => {
  let box: CliSandbox;
  before(() => {
    box = new CliSandbox();
  });
  after(() => box.cleanup());

  test('start, status, start again, stop, stop again', async () => {
    const wt = box.repo('lifecycle');
    const r = await box.run(['start'], wt);
    assert.equal(r.code, 0, r.stderr);
    const pid = (await daemonStatus(wt))!.pid;
    assert.deepEqual(r.lines, [`started daemon (pid ${pid}) for '${wt}'`]);
    assert.deepEqual(r.errLines, [
      "note: git does not use git-fsmond in this repository yet: run 'git fsmond enable'",
    ]);
    await waitFor('watching', async () => (await daemonStatus(wt))?.watching === true);
    // Detached, with stdout and stderr in its log (what it prints before its logger starts).
    const log = path.join(fs.realpathSync(wt), '.git', 'fsmond', 'daemon.log');
    const fds = [0, 1, 2].map((fd) => fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
    assert.deepEqual(fds, ['/dev/null', log, log]);
    assert.equal(fs.readlinkSync(`/proc/${pid}/cwd`), '/');

    const status = await box.run(['status'], wt);
    assert.equal(status.code, 0);
    assert.equal(status.lines.length, 3);
    assert.equal(status.lines[0], `watching '${wt}'`);
    assert.match(
      status.lines[1]!,
      new RegExp(`^ {2}daemon pid ${pid}, up \\d+s, inotify backend, [\\d.]+ MiB RSS, shim: none$`),
    );
    assert.match(
      status.lines[2]!,
      /^ {2}\d+ directories, \d+ events, \d+ queries, last answer [\d.]+ ms$/,
    );

    const again = await box.run(['start'], wt);
    assertOneLineError(
      again,
      1,
      new RegExp(`^git-fsmond: already running for '${wt}' \\(pid ${pid}\\)$`),
    );

    const stop = await box.run(['stop'], wt);
    assert.equal(stop.code, 0, stop.stderr);
    assert.deepEqual(stop.lines, [`stopped daemon (pid ${pid})`]);
    assert.ok(gone(pid), 'the process has exited when stop returns');
    assert.equal(await daemonStatus(wt), null);

    assertOneLineError(await box.run(['stop'], wt), 1, /no daemon is running/);
  });

  test('status --json has the documented keys', async () => {
    const wt = box.repo('json');
    box.git(wt, ['config', 'core.fsmonitor', '/nonexistent/hooks/bin/fsmond-hook']);
    assert.equal((await box.run(['start'], wt)).code, 0);
    await waitFor('watching', async () => (await daemonStatus(wt))?.watching === true);
    const r = await box.run(['status', '--json'], wt);
    assert.equal(r.code, 0);
    const doc = JSON.parse(r.stdout);
    const s = (await daemonStatus(wt))!;
    assert.equal(doc.running, true);
    assert.equal(doc.watching, true);
    assert.equal(doc.pid, s.pid);
    assert.equal(doc.worktree, wt);
    assert.match(doc.token, /^builtin:[^:]+:\d+$/);
    assert.equal(doc.backend, 'inotify');
    assert.equal(doc.shim, 'c');
    assert.equal(doc.shimPath, '/nonexistent/hooks/bin/fsmond-hook');
    assert.equal(doc.lastError, null);
    for (const k of [
      'uptimeMs',
      'watchedDirectories',
      'events',
      'queries',
      'lastAnswerMs',
      'rssBytes',
    ]) {
      assert.equal(typeof doc[k], 'number', k);
    }
    assert.ok(doc.watchedDirectories >= 3, 'root, src, src/deep');
    assert.equal((await box.run(['stop'], wt)).code, 0);
  });

  test('stop gives up with one clear line when the daemon does not exit', async () => {
    const wt = box.repo('stuck');
    // A stand-in that answers status with a live pid (ours) and ignores quit.
    const server = await startServer({
      socketPath: socketOf(wt),
      handler: async (req) =>
        req.toString() === REQUEST.status
          ? { payload: [Buffer.from(JSON.stringify({ pid: process.pid, watching: true }))] }
          : { payload: [] },
    });
    try {
      const r = await box.run(['stop', '--timeout', '0.5'], wt);
      assertOneLineError(
        r,
        1,
        new RegExp(
          `^git-fsmond: the daemon \\(pid ${process.pid}\\) did not exit within 0\\.5 s; 'kill -KILL ${process.pid}' ends it$`,
        ),
      );
    } finally {
      await server.close();
    }
  });

  test('run: foreground, logs to stderr, "already running" is one line, stop ends it with 0', async () => {
    const wt = box.repo('foreground');
    const child = box.spawn(['run'], wt);
    await waitFor('run to watch', async () => (await daemonStatus(wt))?.watching === true);
    assert.equal((await daemonStatus(wt))!.pid, child.pid);

    const second = await box.run(['run'], wt);
    assertOneLineError(
      second,
      1,
      new RegExp(`^git-fsmond: already running for '${wt}' \\(pid ${child.pid}\\)$`),
    );
    const start = await box.run(['start'], wt);
    assertOneLineError(start, 1, /already running/);

    assert.equal((await box.run(['stop'], wt)).code, 0);
    assert.equal(await exited(child), 0);
    await waitForOutput(child, (o) => /info: shutting down: quit requested$/m.test(o.stderr));
    assert.match(child.output.stderr, /^\S+ \d+ info: listening on '/m);
    assert.equal(child.output.stdout, '');
  });
});
