/**
 * Directories we may not read do not fail the worktree: each is one opaque unit, listed by
 * unwatchable() while it exists and is unreadable, reported when its own entry changes, and
 * watched and scanned (everything beneath reported) once readable again. Run as an
 * unprivileged uid (watch-unreadable-child.ts): root bypasses permission checks.
 */
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { childResult, runUnprivileged } from '../helpers/lifecycle-ns.js';

const CHILD = join(dirname(fileURLToPath(import.meta.url)), '../helpers/watch-unreadable-child.js');

interface Step {
  paths: string[];
  unwatchable: string[];
}

test('unreadable directories: opaque, reported, watched again once readable', async (t) => {
  const res = await childResult(t, runUnprivileged(CHILD, [], 60_000));
  if (!res) return;
  const steps = res.steps as Record<string, Step>;
  const at = res.atStart as { unwatchable: string[]; stats: Record<string, unknown> };
  // No sync lost, no rescan: the rest of the tree is watched as usual.
  assert.deepEqual(res.syncLost, []);
  assert.equal(res.ready, 1);
  assert.deepEqual(res.violations, []);
  // 000, 0111, and a child of a directory without search permission.
  assert.deepEqual(at.unwatchable, ['locked', 'noexec/child', 'ok/inner', 'xonly']);
  assert.equal(at.stats.unwatchableDirs, 4);
  assert.deepEqual([...(at.stats.unwatchableSample as string[])].sort(), at.unwatchable);
  assert.equal(at.stats.rescans, 0);
  assert.equal(at.stats.blocked, null);

  const paths = (name: string) => steps[name]!.paths;
  const unw = (name: string) => steps[name]!.unwatchable;
  assert.deepEqual(paths('edit elsewhere'), ['ok/f']);
  // Unseen, which is why xonly is in every answer: git re-examines xonly/tracked itself.
  assert.deepEqual(paths('edit inside x-only'), []);
  assert.ok(unw('edit inside x-only').includes('xonly'));
  assert.deepEqual(paths('chmod x-only again'), ['xonly'], 'its own entry changed');
  assert.deepEqual(paths('unlock'), ['locked', 'locked/a', 'locked/sub', 'locked/sub/b']);
  assert.ok(!unw('unlock').includes('locked'));
  assert.deepEqual(paths('edit inside unlocked'), ['locked/sub/new'], 'watched once readable');
  assert.deepEqual(paths('search permission back'), ['noexec', 'noexec/child', 'noexec/child/c']);
  assert.ok(!unw('search permission back').includes('noexec/child'));
  assert.deepEqual(paths('edit below it'), ['noexec/child/c']);
  assert.deepEqual(paths('search permission gone above'), ['deepx', 'deepx/b/new']);
  assert.ok(unw('search permission gone above').includes('deepx/b/new'));
  assert.ok(paths('and back').includes('deepx/b/new'));
  assert.ok(!unw('and back').includes('deepx/b/new'), 'retried below the directory itself');
  assert.deepEqual(paths('edit below that'), ['deepx/b/new/g']);
  assert.deepEqual(paths('mkdir -m 000'), ['fresh']);
  assert.ok(unw('mkdir -m 000').includes('fresh'));
  assert.deepEqual(paths('rename it'), ['fresh', 'fresh2']);
  assert.ok(unw('rename it').includes('fresh2') && !unw('rename it').includes('fresh'));
  assert.deepEqual(paths('rmdir it'), ['fresh2']);
  assert.ok(!unw('rmdir it').includes('fresh2'), 'a vanished directory leaves the set');
  assert.ok(paths('rename a parent of one').includes('ok2/inner'));
  assert.deepEqual(unw('rename a parent of one'), ['ok2/inner', 'xonly']);
  assert.deepEqual(unw('mkdir -m 000 below it'), ['ok2/gone', 'ok2/inner', 'xonly']);
  assert.deepEqual(unw('removed while its parent was away'), ['ok3/inner', 'xonly']);
  assert.ok(paths('removed while its parent was away').includes('ok3/gone'));
  // Still watched through the watch it already had: nothing is lost.
  assert.deepEqual(paths('lock a watched dir'), ['mover']);
  assert.deepEqual(paths('move x-only out'), ['xonly']);
  assert.deepEqual(unw('move x-only out'), ['ok3/inner']);
  const stats = res.stats as Record<string, unknown>;
  assert.equal(stats.rescans, 0);
  assert.equal(stats.unwatchableDirs, 1);
});
