/**
 * Run by lifecycle-ns.ts inside `unshare -U -r [-m]`; prints one JSON line of facts for the
 * parent to assert on, or {skip}. Modes:
 * - `unmount`: a worktree on a tmpfs of our own; a daemon watches it; `umount -l`; the daemon
 *   must exit.
 * - `enospc`: a real daemon started with `/proc/sys/user/max_inotify_watches` (this
 *   namespace's own limit, never the machine-wide one) too low for the worktree: it must keep
 *   running, answer `/` (and git status stay right), log the sysctl to raise, and watch fully
 *   once the limit is raised.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { gitDirOf, makeRepo, socketOf, statusAt, statusOracle, statusWithMonitor } from './git.js';
import {
  alive,
  exitAfter,
  query,
  readLog,
  reap,
  spawnDaemon,
  waitServing,
} from './lifecycle-util.js';
import { namespaceMain } from './ns-child-main.js';
import { scratchDir } from './scratch.js';
import { waitFor } from './wait.js';

const LIMIT = '/proc/sys/user/max_inotify_watches';

async function unmount(): Promise<Record<string, unknown>> {
  const base = scratchDir('fsmond-ns-');
  const mnt = path.join(base, 'mnt');
  fs.mkdirSync(mnt);
  const m = spawnSync('mount', ['-t', 'tmpfs', 'none', mnt], { encoding: 'utf8' });
  if (m.status !== 0) return { skip: `cannot mount a tmpfs here: ${m.stderr.trim()}` };
  const d = spawnDaemon(makeRepo({ parent: mnt }), { foreground: true });
  try {
    const wt = path.join(mnt, 'wt');
    await waitServing(d, socketOf(wt));
    statusWithMonitor(wt);
    // A plain umount fails while the daemon runs: its bound socket in the git dir holds the
    // mount (so does git's own daemon's). What happens is a lazy one: the tree is detached,
    // and the daemon must notice and let go, so the filesystem can really go away.
    const t0 = Date.now();
    const u = spawnSync('umount', ['-l', mnt], { encoding: 'utf8' });
    if (u.status !== 0) return { error: `umount -l failed: ${u.stderr.trim()}` };
    const e = await exitAfter(d, t0);
    return { code: e.code, exitMs: e.ms, stderr: d.stderr() };
  } finally {
    await reap(d);
    spawnSync('umount', ['-l', mnt]);
    fs.rmSync(base, { recursive: true, force: true });
  }
}

async function enospc(): Promise<Record<string, unknown>> {
  try {
    fs.writeFileSync(LIMIT, '100000');
  } catch (err) {
    return { skip: `cannot write ${LIMIT}: ${(err as Error).message}` };
  }
  const parent = scratchDir('fsmond-ns-');
  const files: Record<string, string> = {};
  for (let i = 0; i < 10; i++) files[`d${i}/f`] = `${i}\n`;
  const wt = makeRepo({ parent, files });
  const sock = socketOf(wt);
  // Root, git dir and cookie dir fit; the worktree's subdirectories do not.
  fs.writeFileSync(LIMIT, '3');
  const d = spawnDaemon(wt);
  try {
    await waitFor('the daemon to listen', async () => (await statusAt(sock)) !== null);
    await waitFor('the watch limit to be hit', () =>
      readLog(gitDirOf(wt)).includes('increase fs.inotify.max_user_watches'),
    );
    const whileLow: string[][] = [];
    // Blocked: `/` at once, not after waiting for the ready timeout.
    let slowestLowMs = 0;
    for (let i = 0; i < 3; i++) {
      const t0 = Date.now();
      whileLow.push((await query(sock, '0')).paths);
      slowestLowMs = Math.max(slowestLowMs, Date.now() - t0);
    }
    fs.writeFileSync(path.join(wt, 'd3/f'), 'edited while the limit is low\n');
    const statusLowOk = statusWithMonitor(wt) === statusOracle(wt);
    const lowStatus = await statusAt(sock);
    fs.writeFileSync(LIMIT, '100000');
    // The watcher retries by itself (backing off from 5 s); nothing is restarted.
    await waitFor(
      'watching after the limit was raised',
      async () => {
        return (await statusAt(sock))?.watching === true;
      },
      { timeoutMs: 90_000 },
    );
    const t = (await query(sock, '0')).token;
    fs.writeFileSync(path.join(wt, 'd7/f'), 'edited after\n');
    const after = (await query(sock, t)).paths;
    statusWithMonitor(wt);
    fs.writeFileSync(path.join(wt, 'd8/new'), 'new\n');
    const statusAfterOk = statusWithMonitor(wt) === statusOracle(wt);
    const final = await statusAt(sock);
    const log = readLog(gitDirOf(wt));
    return {
      whileLow,
      slowestLowMs,
      blockedWhileLow: lowStatus?.blockedReason,
      limitsWhileLow: lowStatus?.inotifyLimits,
      blockedAfter: final?.blockedReason,
      statusLowOk,
      watchingWhileLow: lowStatus?.watching,
      samePid: lowStatus?.pid === d.pid && final?.pid === d.pid && alive(d.pid),
      starts: (log.match(/listening on/g) ?? []).length,
      after,
      statusAfterOk,
      watchedDirectories: final?.watchedDirectories,
      logMentionsSysctl: log.includes('increase fs.inotify.max_user_watches'),
    };
  } finally {
    await reap(d);
    fs.rmSync(parent, { recursive: true, force: true });
  }
}

namespaceMain({ unmount, enospc });
