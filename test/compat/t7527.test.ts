/**
 * git's own test of its builtin daemon, t7527-builtin-fsmonitor.sh, run unmodified against
 * git-fsmond (test/compat/run.sh routes `git fsmonitor--daemon` to `git fsmond`). It needs a
 * built git >= 2.55 source tree: GIT_FSMOND_COMPAT_GIT=<that tree>; without it the test is
 * skipped and says so. Every test must pass (or skip for the platform, as with git's daemon).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cannotRun, runGitScript, tally } from './harness.js';

const SCRIPT = 't7527-builtin-fsmonitor.sh';

test('git t7527-builtin-fsmonitor.sh against git-fsmond', { timeout: 30 * 60_000 }, (t) => {
  const why = cannotRun(SCRIPT);
  if (why) return t.skip(why);
  const run = runGitScript(SCRIPT, { baseline: false });
  assert.ok(run.results.size > 50, `t7527 ran ${run.results.size} tests:\n${run.tail}`);
  t.diagnostic(`t7527: ${tally(run)}`);
  const failed = [...run.results.values()].filter((x) => !x.ok && !x.todo);
  assert.deepEqual(failed, [], `failures:\n${run.tail}`);
});
