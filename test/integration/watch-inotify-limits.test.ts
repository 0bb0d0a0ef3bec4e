/**
 * Kernel limits: queue overflow (IN_Q_OVERFLOW) and a full watch table (ENOSPC). Both must give
 * onSyncLost, a rescan, onReady, and a watcher that sees edits again. Never a crash or exit.
 */
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, afterEach, type TestContext, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { childResult, runUnshared } from '../helpers/lifecycle-ns.js';
import { waitFor, withHangGuard } from '../helpers/wait.js';
import { plant } from '../helpers/watch-fs.js';
import { closeAfterEachTest, Harness, makeWorktree } from '../helpers/watch-harness.js';

const QUEUED = '/proc/sys/fs/inotify/max_queued_events';

const track = closeAfterEachTest();
let savedQueued: string | null = null;

function restoreQueued(): void {
  if (savedQueued !== null) writeFileSync(QUEUED, savedQueued);
  savedQueued = null;
}

afterEach(async () => {
  restoreQueued();
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
  const wt = makeWorktree();
  plant(wt.root, ['a/f', 'b/g']);
  const w = new Harness(wt, { backend: 'inotify' });
  track(w);
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
  await withHangGuard('start()', started);
  await w.sync();
  // The JS thread is busy in this loop, so the read callback cannot drain the queue (at most
  // one 64 KiB read, ~2k records, is taken meanwhile): 5000 events overflow a 1024-event queue
  // whatever the speed of the machine.
  for (let i = 0; i < 2500; i++) writeFileSync(w.p(`burst-${i}`), 'x');
  await waitFor('onSyncLost then onReady', () => w.c.syncLost.length > 0 && w.c.ready >= 2);
  assert.deepEqual(w.c.syncLost, ['inotify queue overflow']);
  assert.equal(w.watcher.stats().rescans, 1);
  // The new generation has a normal queue and a complete tree.
  w.c.take();
  appendFileSync(w.p('a/f'), '+');
  writeFileSync(w.p('b/new'), 'n');
  assert.deepEqual(await w.sync(), ['a/f', 'b/new']);
  assert.equal(w.watcher.stats().watchedDirs, 3);
});

const LIMITS_CHILD = join(
  dirname(fileURLToPath(import.meta.url)),
  '../helpers/watch-enospc-child.js',
);
/** One run of each scenario, shared by the tests asserting on it. */
const runs = new Map<string, Promise<Record<string, unknown>>>();

function limitsChild(t: TestContext, mode: 'watches' | 'instances') {
  let run = runs.get(mode);
  if (!run) {
    run = runUnshared(['-U', '-r'], LIMITS_CHILD, [mode], 60_000);
    runs.set(mode, run);
  }
  return childResult(t, run);
}

test('watch table full (ENOSPC) -> onSyncLost naming the sysctl, retry until it fits', async (t) => {
  const res = await limitsChild(t, 'watches');
  if (!res) return;
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

test('watch table full: blockedReason() names the limit and the counts until it fits', async (t) => {
  const res = await limitsChild(t, 'watches');
  if (!res) return;
  const expectText = 'inotify watch limit reached; increase fs.inotify.max_user_watches';
  for (const key of ['blockedAtStart', 'blockedAtRuntime']) {
    const b = String(res[key]);
    assert.ok(b.includes(expectText), `${key}: ${b}`);
    assert.match(b, /: \d+ watches held by this watcher, .+, limit \d+$/, b);
  }
  assert.match(String(res.blockedAtStart), /limit 3\b/);
  assert.equal(res.blockedOnceReady, null);
  assert.equal(res.blockedAfter, null);
  const limits = res.limitsAtStart as Record<string, unknown>;
  assert.equal(limits.maxWatches, 3, 'the namespace limit, the lower one');
  assert.equal(typeof limits.maxInstances, 'number');
});

test('no inotify instance left (EMFILE) -> blocked, retried, watching once one is free', async (t) => {
  const res = await limitsChild(t, 'instances');
  if (!res) return;
  const low = res.whileLow as {
    blocked: string | null;
    stats: Record<string, unknown>;
    retried: number;
    ready: number;
  };
  const expectText = 'inotify instance limit reached; increase fs.inotify.max_user_instances';
  assert.ok(String(low.blocked).includes(expectText), String(low.blocked));
  assert.match(String(low.blocked), /instances held by this user, limit 0 \(EMFILE\)/);
  assert.equal(low.stats.blocked, low.blocked);
  assert.equal((low.stats.limits as Record<string, unknown>).maxInstances, 0);
  assert.equal(low.ready, 0);
  assert.ok(low.retried >= 1, 'kept retrying');
  assert.deepEqual(res.syncLost, [low.blocked!.split(':')[0]], 'announced once');
  assert.equal(res.blockedAfter, null);
  assert.deepEqual(res.after, ['a/f']);
});
