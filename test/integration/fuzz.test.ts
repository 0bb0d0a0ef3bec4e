import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeFailure, runFuzz } from '../fuzz/fuzzer.js';

// A short run in every `npm test`; `npm run fuzz -- --rounds N --seed S` runs long ones.
for (const [seed, untrackedCache] of [
  [101, true],
  [202, false],
] as const) {
  test(`differential fuzz: seed ${seed}, untracked cache ${untrackedCache}`, {
    timeout: 300_000,
  }, async () => {
    const r = await runFuzz({ seed, rounds: 25, untrackedCache });
    assert.equal(r.failures.length, 0, r.failures.map(describeFailure).join('\n\n'));
    assert.equal(r.rounds, 25);
    // Without incremental answers the comparison would prove nothing.
    assert.ok(
      r.answers - r.trivialAnswers >= r.rounds / 2,
      `only ${r.answers - r.trivialAnswers} incremental answers`,
    );
  });
}

test('differential fuzz with daemon restarts: old tokens are never trusted', {
  timeout: 300_000,
}, async () => {
  const r = await runFuzz({ seed: 303, rounds: 20, weights: { restartDaemon: 3 } });
  assert.equal(r.failures.length, 0, r.failures.map(describeFailure).join('\n\n'));
  assert.ok(r.restarts > 0, 'the run restarted the daemon at least once');
});

// A worktree override and a mute daemon, weighted up so that a short run meets them often.
test('differential fuzz with worktree overrides: git --work-tree=B and GIT_DIR from B', {
  timeout: 300_000,
}, async () => {
  const r = await runFuzz({ seed: 404, rounds: 20, weights: { worktreeOverride: 12 } });
  assert.equal(r.failures.length, 0, r.failures.map(describeFailure).join('\n\n'));
  assert.ok((r.opCounts.worktreeOverride ?? 0) >= 10, 'the run overrode the worktree often');
});

test('differential fuzz with a stopped daemon: git gets `/` and stays right', {
  timeout: 300_000,
}, async () => {
  const r = await runFuzz({ seed: 505, rounds: 15, weights: { pauseDaemon: 8, restartDaemon: 1 } });
  assert.equal(r.failures.length, 0, r.failures.map(describeFailure).join('\n\n'));
  assert.ok((r.opCounts.pauseDaemon ?? 0) >= 5, 'the run stopped the daemon often');
});
