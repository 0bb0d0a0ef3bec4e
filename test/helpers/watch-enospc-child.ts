/**
 * The ENOSPC and EMFILE scenarios, run by watch-inotify-limits.test in its own user namespace
 * (`unshare -U -r`). There `/proc/sys/user/max_inotify_watches` and `max_inotify_instances`
 * limit this process alone, so the machine-wide `fs.inotify.max_user_*`, shared with every
 * other watcher of the same user, are never lowered (docs/linux-watching.md#limits: never lower the global sysctls).
 *
 * argv: `watches` or `instances`. Prints one JSON line: the facts the parent asserts on, or
 * {skip: reason}.
 */
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { inOwnUserNamespace } from '../../bench/userns.js';
import { waitFor, withHangGuard } from './wait.js';
import { plant } from './watch-fs.js';
import { Harness, makeWorktree } from './watch-harness.js';

const LIMIT = '/proc/sys/user/max_inotify_watches';
const INSTANCES = '/proc/sys/user/max_inotify_instances';

function setLimit(n: number): void {
  writeFileSync(LIMIT, String(n));
}

// In the initial user namespace this sysctl IS the machine-wide watch limit, and `node --test
// dist/test/` runs every .js under test/, this file included. So do nothing unless the parent
// asked for it AND we really are in a user namespace of our own.
async function main(): Promise<void> {
  const mode = process.argv[2];
  if (process.argv[3] !== '--in-user-namespace' || !inOwnUserNamespace()) {
    console.log(JSON.stringify({ skip: 'not in a user namespace of its own; touching nothing' }));
    return;
  }
  try {
    setLimit(100_000);
    writeFileSync(INSTANCES, '128');
  } catch (err) {
    console.log(JSON.stringify({ skip: `cannot write the namespace's limits: ${err}` }));
    return;
  }
  console.log(JSON.stringify(mode === 'instances' ? await instances() : await watches()));
}

/** No inotify instance left: blocked, retried, and watching once one is free again. */
async function instances(): Promise<Record<string, unknown>> {
  const wt = makeWorktree();
  try {
    plant(wt.root, ['a/f']);
    writeFileSync(INSTANCES, '0');
    const h = new Harness(wt, { backend: 'inotify', retryDelayMs: 20, retryMaxDelayMs: 200 });
    const started = h.watcher.start();
    await waitFor('onSyncLost at start', () => h.c.syncLost.length >= 1);
    const rescans = h.watcher.stats().rescans;
    await new Promise((r) => setTimeout(r, 200));
    const whileLow = {
      blocked: h.watcher.blockedReason(),
      stats: h.watcher.stats(),
      retried: h.watcher.stats().rescans - rescans,
      ready: h.c.ready,
    };
    writeFileSync(INSTANCES, '128');
    await withHangGuard('start() after the instance limit was raised', started);
    await h.sync();
    const blockedAfter = h.watcher.blockedReason();
    appendFileSync(h.p('a/f'), '+');
    const after = await h.sync();
    const stats = h.watcher.stats();
    await h.close();
    return { whileLow, blockedAfter, after, syncLost: h.c.syncLost, stats };
  } finally {
  }
}

async function watches(): Promise<Record<string, unknown>> {
  const wt = makeWorktree();
  try {
    plant(
      wt.root,
      Array.from({ length: 10 }, (_, i) => `d${i}/f`),
    );
    // Root, git dir and cookie dir fit; the first subdirectory does not.
    setLimit(3);
    const h = new Harness(wt, { backend: 'inotify', retryDelayMs: 20, retryMaxDelayMs: 200 });
    const started = h.watcher.start();
    await waitFor('onSyncLost at start', () => h.c.syncLost.length >= 1);
    const startReason = h.c.syncLost[0];
    const readyWhileLow = h.c.ready;
    const blockedAtStart = h.watcher.blockedReason();
    const limitsAtStart = h.watcher.stats().limits;
    setLimit(100_000);
    await withHangGuard('start() after the limit was raised', started);
    await h.sync();
    const blockedOnceReady = h.watcher.blockedReason();
    const watched = h.watcher.stats().watchedDirs;

    // At runtime: exactly at the limit, then a new directory appears.
    setLimit(watched + 2);
    mkdirSync(h.p('new1'));
    writeFileSync(h.p('new1/f'), 'x');
    await waitFor('onSyncLost at runtime', () => h.c.syncLost.length >= 2);
    const runtimeReason = h.c.syncLost[1];
    const readyBefore = h.c.ready;
    // Let a few retries fail against the low limit: they must neither crash nor claim ready.
    const rescansLow = h.watcher.stats().rescans;
    await new Promise((r) => setTimeout(r, 300));
    const retriedWhileLow = h.watcher.stats().rescans - rescansLow;
    const blockedAtRuntime = h.watcher.blockedReason();
    const readyWhileLow2 = h.c.ready - readyBefore;
    setLimit(100_000);
    await waitFor('onReady after the limit was raised again', () => h.c.ready > readyBefore);
    h.c.take(); // 'new1' itself, delivered before the failure
    appendFileSync(h.p('new1/f'), '+');
    writeFileSync(h.p('d3/g'), 'g');
    const after = await h.sync();
    const stats = h.watcher.stats();
    await h.close();
    return {
      startReason,
      blockedAtStart,
      limitsAtStart,
      blockedOnceReady,
      blockedAtRuntime,
      blockedAfter: stats.blocked,
      readyWhileLow,
      runtimeReason,
      retriedWhileLow,
      readyWhileLow2,
      syncLostCalls: h.c.syncLost.length,
      after,
      watchedDirs: stats.watchedDirs,
      lastError: stats.lastError,
      violations: h.c.violations,
    };
  } finally {
  }
}

main().catch((err) => {
  console.log(JSON.stringify({ error: String((err as Error)?.stack ?? err) }));
  process.exitCode = 1;
});
