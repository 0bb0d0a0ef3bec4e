/**
 * Kernel limits: queue overflow (IN_Q_OVERFLOW) and a full watch table (ENOSPC). Both must give
 * onSyncLost, a rescan, onReady, and a watcher that sees edits again. Never a crash or exit.
 */
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, afterEach, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runUnshared } from '../helpers/lifecycle-ns.js';
import { plant } from '../helpers/watch-fs.js';
import { Harness, makeWorktree, type Worktree, withGuard } from '../helpers/watch-harness.js';

const QUEUED = '/proc/sys/fs/inotify/max_queued_events';

let wt: Worktree | null = null;
let h: Harness | null = null;
let savedQueued: string | null = null;

function restoreQueued(): void {
  if (savedQueued !== null) writeFileSync(QUEUED, savedQueued);
  savedQueued = null;
}

afterEach(async () => {
  restoreQueued();
  await h?.close();
  wt?.cleanup();
  h = null;
  wt = null;
});
// Belt and braces: the limit is system-wide.
after(restoreQueued);

test('queue overflow -> onSyncLost, full rescan, onReady, edits seen again', async (t) => {
  let original: string;
  try {
    original = readFileSync(QUEUED, 'utf8').trim();
    writeFileSync(QUEUED, original);
  } catch (err) {
    t.skip(`cannot write ${QUEUED} (${(err as Error).message}); overflow test needs root`);
    return;
  }
  wt = makeWorktree();
  plant(wt.root, ['a/f', 'b/g']);
  const w = new Harness(wt, { backend: 'inotify' });
  h = w;
  let started: Promise<void>;
  // The limit is read when an instance is created, and it is system-wide: lower it only for
  // the synchronous inotify_init1() inside start(), then put it back at once. 1024 rather than
  // something tiny, so that another watcher created in that instant is not starved either.
  savedQueued = original;
  try {
    writeFileSync(QUEUED, '1024');
    started = w.watcher.start();
  } finally {
    restoreQueued();
  }
  await withGuard(started, 'start()');
  await w.sync();
  // The JS thread is busy in this loop, so the read callback cannot drain the queue (at most
  // one 64 KiB read, ~2k records, is taken meanwhile): 5000 events overflow a 1024-event queue
  // whatever the speed of the machine.
  for (let i = 0; i < 2500; i++) writeFileSync(w.p(`burst-${i}`), 'x');
  await w.c.waitFor(() => w.c.syncLost.length > 0 && w.c.ready >= 2, 'onSyncLost then onReady');
  assert.deepEqual(w.c.syncLost, ['inotify queue overflow']);
  assert.equal(w.watcher.stats().rescans, 1);
  // The new generation has a normal queue and a complete tree.
  w.c.take();
  appendFileSync(w.p('a/f'), '+');
  writeFileSync(w.p('b/new'), 'n');
  assert.deepEqual(await w.sync(), ['a/f', 'b/new']);
  assert.equal(w.watcher.stats().watchedDirs, 3);
});

test('watch table full (ENOSPC) -> onSyncLost naming the sysctl, retry until it fits', async (t) => {
  const child = join(dirname(fileURLToPath(import.meta.url)), '../helpers/watch-enospc-child.js');
  const res = await runUnshared(['-U', '-r'], child, [], 60_000);
  if ('skip' in res) {
    t.skip(String(res.skip));
    return;
  }
  assert.equal(res.error, undefined, String(res.error));
  const expectText = 'inotify watch limit reached; increase fs.inotify.max_user_watches';
  assert.ok(String(res.startReason).includes(expectText), String(res.startReason));
  assert.ok(String(res.runtimeReason).includes(expectText), String(res.runtimeReason));
  assert.equal(res.readyWhileLow, 0);
  assert.equal(res.readyWhileLow2, 0);
  assert.ok(Number(res.retriedWhileLow) >= 1, 'kept retrying while the limit was low');
  // Retries with the same reason are not announced again.
  assert.equal(res.syncLostCalls, 2);
  assert.deepEqual(res.after, ['d3/g', 'new1/f']);
  assert.equal(res.watchedDirs, 12);
  assert.deepEqual(res.violations, []);
});
