/**
 * The ENOSPC scenario, run by watch-inotify-limits.test in its own user namespace
 * (`unshare -U -r`). There `/proc/sys/user/max_inotify_watches` limits this process alone, so
 * the machine-wide `fs.inotify.max_user_watches`, shared with every other watcher of the same
 * user, is never lowered (docs/linux-watching.md#limits: never lower the global sysctl).
 *
 * Prints one JSON line: the facts the parent asserts on, or {skip: reason}.
 */
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { plant } from './watch-fs.js';
import { Harness, makeWorktree, withGuard } from './watch-harness.js';

const LIMIT = '/proc/sys/user/max_inotify_watches';

function setLimit(n: number): void {
  writeFileSync(LIMIT, String(n));
}

/**
 * In the initial user namespace this sysctl IS the machine-wide watch limit, and `node --test
 * dist/test/` runs every .js under test/, this file included. So do nothing unless the parent
 * asked for it AND we really are in a user namespace of our own.
 */
function inOwnUserNamespace(): boolean {
  try {
    // The initial namespace maps every uid to itself: "0 0 4294967295".
    const map = readFileSync('/proc/self/uid_map', 'utf8').trim().split(/\s+/);
    return !(map.length === 3 && map[0] === '0' && map[1] === '0' && map[2] === '4294967295');
  } catch {
    return false;
  }
}

async function main(): Promise<void> {
  if (process.argv[2] !== '--in-user-namespace' || !inOwnUserNamespace()) {
    console.log(JSON.stringify({ skip: 'not in a user namespace of its own; touching nothing' }));
    return;
  }
  try {
    setLimit(100_000);
  } catch (err) {
    console.log(JSON.stringify({ skip: `cannot write ${LIMIT}: ${(err as Error).message}` }));
    return;
  }
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
    await h.c.waitFor(() => h.c.syncLost.length >= 1, 'onSyncLost at start');
    const startReason = h.c.syncLost[0];
    const readyWhileLow = h.c.ready;
    setLimit(100_000);
    await withGuard(started, 'start() after the limit was raised');
    await h.sync();
    const watched = h.watcher.stats().watchedDirs;

    // At runtime: exactly at the limit, then a new directory appears.
    setLimit(watched + 2);
    mkdirSync(h.p('new1'));
    writeFileSync(h.p('new1/f'), 'x');
    await h.c.waitFor(() => h.c.syncLost.length >= 2, 'onSyncLost at runtime');
    const runtimeReason = h.c.syncLost[1];
    const readyBefore = h.c.ready;
    // Let a few retries fail against the low limit: they must neither crash nor claim ready.
    const rescansLow = h.watcher.stats().rescans;
    await new Promise((r) => setTimeout(r, 300));
    const retriedWhileLow = h.watcher.stats().rescans - rescansLow;
    const readyWhileLow2 = h.c.ready - readyBefore;
    setLimit(100_000);
    await h.c.waitFor(() => h.c.ready > readyBefore, 'onReady after the limit was raised again');
    h.c.take(); // 'new1' itself, delivered before the failure
    appendFileSync(h.p('new1/f'), '+');
    writeFileSync(h.p('d3/g'), 'g');
    const after = await h.sync();
    const stats = h.watcher.stats();
    await h.close();
    console.log(
      JSON.stringify({
        startReason,
        readyWhileLow,
        runtimeReason,
        retriedWhileLow,
        readyWhileLow2,
        syncLostCalls: h.c.syncLost.length,
        after,
        watchedDirs: stats.watchedDirs,
        lastError: stats.lastError,
        violations: h.c.violations,
      }),
    );
  } finally {
    wt.cleanup();
  }
}

main().catch((err) => {
  console.log(JSON.stringify({ error: String((err as Error)?.stack ?? err) }));
  process.exitCode = 1;
});
