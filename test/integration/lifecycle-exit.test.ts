/**
 * The daemon exits when what it serves is gone: its socket removed or replaced, the worktree
 * root deleted, renamed or unmounted, `.git` deleted or renamed, a linked worktree's git dir
 * removed. Each time it logs why and removes only its own files. "Within 2 s" is measured and
 * printed as a diagnostic; the assertion is only that it exits before a 10 s hang guard.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import {
  git,
  gitDirOf,
  makeRepo,
  socketOf,
  statusOracle,
  statusWithMonitor,
  stopDaemon,
} from '../helpers/git.js';
import { runInNamespace } from '../helpers/lifecycle-ns.js';
import {
  closeServer,
  exitAfter,
  listenAt,
  query,
  readLog,
  trackForCleanup,
} from '../helpers/lifecycle-util.js';
import { scratchDir } from '../helpers/scratch.js';

const track = trackForCleanup();

async function setup(opts: { foreground?: boolean } = {}) {
  const parent = scratchDir('fsmond-exit-');
  const wt = makeRepo({ parent });
  const d = await track.serve(wt, opts);
  statusWithMonitor(wt);
  return { parent, wt, gitDir: gitDirOf(wt), sock: socketOf(wt), d };
}

describe('the daemon exits, logs why and removes only its own files', () => {
  test('socket removed', async (t) => {
    const { wt, gitDir, sock, d } = await setup();
    const t0 = Date.now();
    fs.unlinkSync(sock);
    const e = await exitAfter(d, t0);
    t.diagnostic(`exited ${e.ms} ms after its socket was removed`);
    assert.equal(e.code, 0);
    assert.match(readLog(gitDir), /shutting down: socket '.*' was removed or taken over/);
    // The next git command starts a new daemon and is right.
    assert.equal(statusWithMonitor(wt), statusOracle(wt));
    await stopDaemon(wt);
  });

  test('socket replaced by another server: the thief keeps its socket', async (t) => {
    const { gitDir, sock, d } = await setup();
    const t0 = Date.now();
    fs.unlinkSync(sock);
    const thief = await listenAt(sock);
    try {
      const thiefIno = fs.lstatSync(sock).ino;
      const e = await exitAfter(d, t0);
      t.diagnostic(`exited ${e.ms} ms after its socket was replaced`);
      assert.equal(e.code, 0);
      assert.match(readLog(gitDir), /shutting down: socket .* removed or taken over/);
      assert.equal(fs.lstatSync(sock).ino, thiefIno, "the thief's socket is still there");
    } finally {
      await closeServer(thief);
    }
  });

  test('worktree root deleted', async (t) => {
    const { parent, wt, d } = await setup({ foreground: true });
    const t0 = Date.now();
    fs.rmSync(wt, { recursive: true, force: true });
    const e = await exitAfter(d, t0);
    t.diagnostic(`exited ${e.ms} ms after the worktree was deleted`);
    assert.equal(e.code, 0);
    // The log went with the git dir; the foreground daemon's stderr has the same lines.
    assert.match(d.stderr(), /shutting down: .*(removed|deleted)/);
    assert.deepEqual(fs.readdirSync(parent), [], 'nothing re-created');
  });

  test('a log that vanished is not re-created (an rm -rf in progress must not fail)', async () => {
    const { gitDir, d } = await setup({ foreground: true });
    const log = path.join(gitDir, 'fsmond', 'daemon.log');
    assert.ok(fs.existsSync(log), 'the daemon logged at start');
    fs.rmSync(log);
    d.child.kill('SIGTERM');
    const e = await exitAfter(d, Date.now());
    assert.equal(e.code, 0);
    assert.match(d.stderr(), /shutting down: received SIGTERM/, 'it did log the line');
    assert.ok(!fs.existsSync(log), 'but not into a new file');
  });

  test('worktree root renamed: the last lines reach the log where it is now', async (t) => {
    const { parent, wt, d } = await setup();
    const moved = path.join(parent, 'moved');
    const t0 = Date.now();
    fs.renameSync(wt, moved);
    const e = await exitAfter(d, t0);
    t.diagnostic(`exited ${e.ms} ms after the worktree root was renamed`);
    assert.equal(e.code, 0);
    assert.match(readLog(path.join(moved, '.git')), /shutting down: .*(renamed|removed)/);
    assert.ok(!fs.existsSync(wt), 'the old path was not re-created');
    assert.ok(!fs.existsSync(path.join(moved, '.git', 'fsmonitor--daemon.ipc')), 'socket gone');
    assert.ok(fs.existsSync(path.join(moved, '.git', 'fsmond', 'daemon.log')), 'log kept');
  });

  test('.git deleted', async (t) => {
    const { wt, gitDir, d } = await setup({ foreground: true });
    const t0 = Date.now();
    fs.rmSync(gitDir, { recursive: true, force: true });
    const e = await exitAfter(d, t0);
    t.diagnostic(`exited ${e.ms} ms after .git was deleted`);
    assert.equal(e.code, 0);
    assert.match(d.stderr(), /shutting down: /);
    assert.ok(!fs.existsSync(gitDir), '.git was not re-created');
    assert.ok(fs.existsSync(path.join(wt, 'README.md')), 'the worktree is untouched');
  });

  test('.git renamed while queries arrive: nothing re-created at the old path', async (t) => {
    const { wt, gitDir, d } = await setup();
    const oldGit = path.join(wt, '.git-old');
    const t0 = Date.now();
    fs.renameSync(gitDir, oldGit);
    // The socket moved along and still answers for a moment: a query now must neither be
    // answered wrongly nor make the daemon re-create `.git/fsmond/cookies`.
    const answers = await Promise.all(
      [0, 1, 2].map(() => query(path.join(oldGit, 'fsmonitor--daemon.ipc'), '0').catch(() => null)),
    );
    for (const a of answers) if (a) assert.deepEqual(a.paths, ['/']);
    const e = await exitAfter(d, t0);
    t.diagnostic(`exited ${e.ms} ms after .git was renamed`);
    assert.equal(e.code, 0);
    assert.ok(!fs.existsSync(gitDir), '.git was not re-created');
    assert.match(readLog(oldGit), /shutting down: /);
    assert.ok(!fs.existsSync(path.join(oldGit, 'fsmonitor--daemon.ipc')), 'its socket removed');
  });

  test("a linked worktree's git dir removed", async (t) => {
    const parent = scratchDir('fsmond-exit-');
    const main = makeRepo({ parent });
    const linked = path.join(parent, 'linked');
    // Without the monitor: with it, git would start a daemon for the new worktree itself.
    git(main, ['-c', 'core.fsmonitor=false', 'worktree', 'add', '-q', linked]);
    const d = await track.serve(linked, { foreground: true });
    const linkedGitDir = gitDirOf(linked);
    const t0 = Date.now();
    fs.rmSync(linkedGitDir, { recursive: true, force: true });
    const e = await exitAfter(d, t0);
    t.diagnostic(`exited ${e.ms} ms after the linked worktree's git dir was removed`);
    assert.equal(e.code, 0);
    assert.match(d.stderr(), /shutting down: .*git dir/);
    assert.ok(!fs.existsSync(linkedGitDir), 'not re-created');
    // Without the monitor, or git would start a daemon for the main worktree.
    const mainStatus = git(main, ['-c', 'core.fsmonitor=false', 'status', '--porcelain']);
    assert.equal(mainStatus, '', 'the main worktree is untouched');
  });

  test('worktree unmounted (tmpfs in a user and mount namespace)', async (t) => {
    const res = await runInNamespace('unmount');
    if ('skip' in res) {
      t.skip(String(res.skip));
      return;
    }
    assert.equal(res.error, undefined, String(res.error));
    t.diagnostic(`exited ${res.exitMs} ms after the worktree was unmounted (umount -l)`);
    assert.equal(res.code, 0);
    assert.match(String(res.stderr), /shutting down: .*(unmount|removed|replaced)/);
  });
});
