/** `start`, `run`, `stop` and `status` with real daemons. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, test } from 'node:test';
import { REQUEST } from '../../src/contract/index.js';
import { startServer } from '../../src/ipc/index.js';
import { assertOneLineError, CliSandbox, exited, waitForOutput } from '../helpers/cli-sandbox.js';
import { daemonStatus, socketOf } from '../helpers/git.js';
import { waitFor } from '../helpers/wait.js';

/** Exited: no such process, or a zombie its (container) init has not reaped yet. */
const gone = (pid: number) => {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.charAt(stat.lastIndexOf(')') + 2) === 'Z';
};

describe('cli start / stop / status', () => {
  const box = CliSandbox.forSuite();

  test('start, status, start again, stop, stop again', async () => {
    const wt = box.repo('lifecycle');
    const r = await box.run(['start'], wt);
    assert.equal(r.code, 0, r.stderr);
    const pid = (await daemonStatus(wt))!.pid;
    // It returns once watching: root, src, src/deep.
    assert.deepEqual(r.lines, [`started daemon (pid ${pid}), watching 3 directories in '${wt}'`]);
    assert.deepEqual(r.errLines, [
      "note: git does not use git-fsmond in this repository yet: run 'git fsmond enable'",
    ]);
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
      new RegExp(`^git-fsmond: fsmonitor--daemon is already running '${wt}' \\(pid ${pid}\\)$`),
    );

    const stop = await box.run(['stop'], wt);
    assert.equal(stop.code, 0, stop.stderr);
    assert.deepEqual(stop.lines, [`stopped daemon (pid ${pid})`]);
    assert.ok(gone(pid), 'the process has exited when stop returns');
    assert.equal(await daemonStatus(wt), null);

    // Idempotent, for scripts: nothing to stop is success, with a note.
    const again2 = await box.run(['stop'], wt);
    assert.equal(again2.code, 0, again2.stderr);
    assert.deepEqual(again2.lines, []);
    assert.deepEqual(again2.errLines, [`note: no daemon is running for '${wt}': nothing to stop`]);
  });

  test('a SIGSTOPped daemon: status says not responding with its pid, stop ends it', async () => {
    const wt = box.repo('sigstop');
    assert.equal((await box.run(['start'], wt)).code, 0);
    await waitFor('watching', async () => (await daemonStatus(wt))?.watching === true);
    const pid = (await daemonStatus(wt))!.pid;
    process.kill(pid, 'SIGSTOP');
    try {
      const status = await box.run(['status'], wt);
      assert.equal(status.code, 1);
      assert.equal(status.lines.length, 1, status.stdout);
      assert.match(
        status.lines[0]!,
        new RegExp(
          `^not responding: pid ${pid} listens on the socket of '${wt}' but did not answer within \\d+ ms \\(stopped or hung\\)`,
        ),
      );
      const json = JSON.parse((await box.run(['status', '--json'], wt)).stdout);
      assert.equal(json.running, true);
      assert.equal(json.responding, false);
      assert.equal(json.pid, pid);
      const stop = await box.run(['stop'], wt);
      assert.equal(stop.code, 0, stop.stderr);
      assert.match(
        stop.lines[0]!,
        new RegExp(`^stopped daemon \\(pid ${pid}\\), which did not answer; `),
      );
      assert.ok(gone(pid), 'the process has exited when stop returns');
      assert.match(
        fs.readFileSync(path.join(wt, '.git', 'fsmond', 'daemon.log'), 'utf8'),
        /shutting down: received SIGTERM/,
      );
    } finally {
      if (!gone(pid)) process.kill(pid, 'SIGKILL');
    }
  });

  test('a foreign server that accepts and never answers: named, never signalled', async () => {
    const wt = box.repo('mute-foreign');
    const conns: net.Socket[] = [];
    const server = net.createServer((c) => conns.push(c)); // accepts, reads nothing, says nothing
    await new Promise<void>((r) => server.listen(socketOf(wt), r));
    try {
      const status = await box.run(['status'], wt);
      assert.equal(status.code, 1);
      assert.match(status.lines[0]!, new RegExp(`^not responding: pid ${process.pid} listens`));
      const stop = await box.run(['stop'], wt);
      assertOneLineError(
        stop,
        1,
        new RegExp(
          `pid ${process.pid} listens on '.*' but does not answer; not stopping it: it is not git-fsmond's daemon for this worktree`,
        ),
      );
    } finally {
      for (const c of conns) c.destroy();
      await new Promise((r) => server.close(r));
    }
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
      new RegExp(
        `^git-fsmond: fsmonitor--daemon is already running '${wt}' \\(pid ${child.pid}\\)$`,
      ),
    );
    const start = await box.run(['start'], wt);
    assertOneLineError(start, 1, /already running/);

    assert.equal((await box.run(['stop'], wt)).code, 0);
    assert.equal(await exited(child), 0);
    await waitForOutput(child, (o) => /info: shutting down: quit requested$/m.test(o.stderr));
    assert.match(child.output.stderr, /^\S+ \d+ info: git-fsmond \d+\.\d+\.\d+\S* listening on '/m);
    assert.equal(child.output.stdout, '');
  });

  // What git's own daemon does, that scripts and git's t7527 rely on.

  test('start returns once watching: status right after succeeds on 10000 directories', async () => {
    const wt = box.repo('many-dirs');
    for (let i = 0; i < 100; i++) {
      for (let j = 0; j < 100; j++)
        fs.mkdirSync(path.join(wt, `d${i}`, `e${j}`), { recursive: true });
    }
    const start = await box.run(['start'], wt);
    assert.equal(start.code, 0, start.stderr);
    const dirs = Number(/watching (\d+) directories/.exec(start.lines[0]!)?.[1]);
    assert.ok(dirs >= 10_103, start.lines[0]);
    const status = await box.run(['status'], wt);
    assert.equal(status.code, 0, status.stdout);
    assert.equal(status.lines[0], `watching '${wt}'`);
    assert.equal((await box.run(['stop'], wt)).code, 0);
  });

  test('start --no-wait returns once it listens', async () => {
    const wt = box.repo('no-wait');
    const start = await box.run(['start', '--no-wait'], wt);
    assert.equal(start.code, 0, start.stderr);
    assert.match(
      start.lines[0]!,
      /^started daemon \(pid \d+\)(, watching 3 directories in '.*'| for '.*', registering its watches in the background)$/,
    );
    await waitFor('watching', async () => (await daemonStatus(wt))?.watching === true);
    assert.equal((await box.run(['stop'], wt)).code, 0);
  });

  test("GIT_TRACE_FSMONITOR gets git's event: lines for a real edit, and the token lines", async () => {
    const wt = box.repo('trace');
    const trace = path.join(box.root, 'trace-bare');
    const env = { GIT_TRACE_FSMONITOR: trace, GIT_TRACE_BARE: '1' };
    assert.equal((await box.run(['start'], wt, env)).code, 0);
    fs.writeFileSync(path.join(wt, 'src', 'a.txt'), 'changed\n');
    fs.mkdirSync(path.join(wt, 'newdir'));
    const q = await box.run(['query', '0'], wt);
    const lines = () => fs.readFileSync(trace, 'latin1').split('\n');
    await waitFor('event lines', () => lines().includes('event: src/a.txt'));
    await waitFor('event lines', () => lines().includes('event: newdir'));
    const all = lines();
    assert.ok(all.includes(`Watching: worktree '${wt}'`), all.join('\n'));
    assert.ok(all.includes('requested token: 0'), all.join('\n'));
    assert.ok(all.includes(`response token: ${q.lines[0]!.replace(/\\0$/, '')}`), all.join('\n'));
    assert.equal((await box.run(['stop'], wt)).code, 0);
  });

  test("GIT_TRACE_FSMONITOR without GIT_TRACE_BARE: git's time prefix", async () => {
    const wt = box.repo('trace-prefix');
    const trace = path.join(box.root, 'trace-prefixed');
    assert.equal((await box.run(['start'], wt, { GIT_TRACE_FSMONITOR: trace })).code, 0);
    fs.writeFileSync(path.join(wt, 'README.md'), 'changed\n');
    const edited = /^\d\d:\d\d:\d\d\.\d{6} git-fsmond +event: README\.md$/m;
    await waitFor('a prefixed event line', () => edited.test(fs.readFileSync(trace, 'utf8')));
    assert.equal((await box.run(['stop'], wt)).code, 0);
  });

  test('fsmond.trace=true puts the event lines into the log, which `log` shows', async () => {
    const wt = box.repo('trace-log');
    box.git(wt, ['config', 'fsmond.trace', 'true']);
    assert.equal((await box.run(['start'], wt)).code, 0);
    fs.writeFileSync(path.join(wt, 'README.md'), 'changed\n');
    await waitFor('the event in the log', async () =>
      /^\S+ \d+ trace: event: README\.md$/m.test((await box.run(['log'], wt)).stdout),
    );
    assert.equal((await box.run(['stop'], wt)).code, 0);
  });

  test('a trace target git would refuse is a warning in the log, and the daemon serves', async () => {
    const wt = box.repo('trace-bad');
    const start = await box.run(['start'], wt, { GIT_TRACE_FSMONITOR: 'relative/file' });
    assert.equal(start.code, 0, start.stderr);
    const log = (await box.run(['log'], wt)).stdout;
    assert.match(
      log,
      /warn: GIT_TRACE_FSMONITOR='relative\/file' is neither true nor an absolute path/,
    );
    assert.equal((await box.run(['stop'], wt)).code, 0);
  });

  test('GIT_TEST_FSMONITOR_TOKEN: the fixed test epochs of git, test_00000001 then _2 after flush', async () => {
    const wt = box.repo('test-tokens');
    assert.equal((await box.run(['start'], wt, { GIT_TEST_FSMONITOR_TOKEN: 'true' })).code, 0);
    assert.deepEqual((await box.run(['query', '0'], wt)).lines, [
      'builtin:test_00000001:0\\0',
      '/\\0',
    ]);
    fs.writeFileSync(path.join(wt, 'new-file'), '');
    await waitFor('the new file in the answer', async () =>
      (await box.run(['query', 'builtin:test_00000001:0'], wt)).lines.includes('new-file\\0'),
    );
    assert.equal(
      (await box.run(['flush'], wt)).lines[0],
      'flushed: new token builtin:test_00000002:0',
    );
    assert.equal((await box.run(['stop'], wt)).code, 0);
  });

  test('query: the token line it prints pastes back as it is', async () => {
    const wt = box.repo('paste');
    assert.equal((await box.run(['start'], wt)).code, 0);
    const first = await box.run(['query', '0'], wt);
    const printed = first.lines[0]!;
    assert.match(printed, /^builtin:[^:]+:\d+\\0$/);
    fs.writeFileSync(path.join(wt, 'pasted'), '');
    await waitFor('the change since the pasted token', async () => {
      const again = await box.run(['query', printed], wt);
      assert.equal(again.code, 0, again.stderr);
      assert.notEqual(again.lines[1], '/\\0', 'an incremental answer to the pasted token');
      return again.lines.includes('pasted\\0');
    });
    assert.equal((await box.run(['stop'], wt)).code, 0);
  });
});
