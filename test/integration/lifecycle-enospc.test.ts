/**
 * A full inotify watch table (ENOSPC) at daemon level: a real daemon, in a user namespace of
 * its own whose watch limit is too low for the worktree (lifecycle-ns-child.ts; the
 * machine-wide limit is never touched). It must not crash or restart: it answers `/` (git
 * status stays right), logs the sysctl to raise, retries, and is exact once the limit allows.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { childResult, runInNamespace } from '../helpers/lifecycle-ns.js';

test('watch table full: `/` answers at once, a clear message, recovery once raised, no restart', async (t) => {
  const res = await childResult(t, runInNamespace('enospc'));
  if (!res) return;
  assert.deepEqual(res.whileLow, [['/'], ['/'], ['/']], 'answers while the table is full');
  assert.equal(res.watchingWhileLow, false);
  // Blocked: `/` at once; before, every git command waited the 1 s ready timeout first.
  assert.ok(Number(res.slowestLowMs) < 700, `answered in ${res.slowestLowMs} ms while blocked`);
  assert.match(String(res.blockedWhileLow), /increase fs\.inotify\.max_user_watches.*limit 3$/);
  const limits = res.limitsWhileLow as Record<string, unknown>;
  assert.equal(limits.maxWatches, 3);
  assert.equal(res.blockedAfter, null);
  assert.equal(res.statusLowOk, true, 'git status right while the table is full');
  assert.equal(res.logMentionsSysctl, true, 'the log names fs.inotify.max_user_watches');
  assert.equal(res.samePid, true, 'the same daemon throughout');
  assert.equal(res.starts, 1, 'started once: no crash loop');
  assert.deepEqual(res.after, ['d7/f'], 'exact once the limit allows');
  assert.equal(res.statusAfterOk, true);
  assert.equal(res.watchedDirectories, 11);
});
