/**
 * git's own tests of the commands fsmonitor speeds up, with GIT_TEST_FSMONITOR set to our hook
 * shim so that every git command in them asks git-fsmond (as t/README describes for its
 * t7519/fsmonitor-all hook). Each test must pass or fail exactly as it does without git-fsmond,
 * through the same git build in the same run (a baseline first, one script at a time: each
 * takes minutes on two cores). Needs GIT_FSMOND_COMPAT_GIT (see t7527.test.ts).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cannotRun, runGitScript, type TapResult, tally } from './harness.js';

/** The main script of each command git's fsmonitor serves, and git's own fsmonitor hook test. */
const SCRIPTS = [
  't7519-status-fsmonitor.sh',
  't7508-status.sh',
  't3700-add.sh',
  't2018-checkout-branch.sh',
  't3903-stash.sh',
  't7102-reset.sh',
];

const verdict = (r: TapResult | undefined) =>
  r === undefined ? 'missing' : r.skipped ? 'skip' : r.ok ? 'ok' : 'not ok';

for (const script of SCRIPTS) {
  test(`git ${script} with GIT_TEST_FSMONITOR=git-fsmond's shim`, { timeout: 30 * 60_000 }, (t) => {
    const why = cannotRun(script);
    if (why) return t.skip(why);
    const baseline = runGitScript(script, { baseline: true });
    assert.ok(baseline.results.size > 0, `the baseline ran no test:\n${baseline.tail}`);
    const ours = runGitScript(script, { baseline: false });
    t.diagnostic(`${script}: without git-fsmond ${tally(baseline)}; with it ${tally(ours)}`);
    const numbers = new Set([...baseline.results.keys(), ...ours.results.keys()]);
    const differ = [...numbers]
      .sort((a, b) => a - b)
      .filter((n) => verdict(baseline.results.get(n)) !== verdict(ours.results.get(n)))
      .map((n) => {
        const title = (baseline.results.get(n) ?? ours.results.get(n))!.title;
        return `${n} ${title}: ${verdict(baseline.results.get(n))} without, ${verdict(ours.results.get(n))} with git-fsmond`;
      });
    assert.deepEqual(differ, [], `tests that differ:\n${ours.tail}`);
  });
}
