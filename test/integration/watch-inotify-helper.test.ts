/**
 * Full scans through the scan helper process (src/watch/full-scan.ts), against the real
 * kernel: every directory must end up watched under its current name, whether the helper
 * listed it, it moved while the scan ran, or the helper died in the middle of an answer.
 *
 * After a helper failure the daemon does without one for the rest of its process: the
 * failing case is the last test of this file (node --test runs each file in a process).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { plant } from '../helpers/watch-fs.js';
import { closeAfterEachTest, Harness, makeWorktree } from '../helpers/watch-harness.js';
import { assertAllWatched, CHURN_TREE, startWithChurn } from '../helpers/watch-probes.js';

const track = closeAfterEachTest({ check: true });
const DYING = join(fileURLToPath(new URL('.', import.meta.url)), '../helpers/scan-child-dies.js');

function tree(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `d${i % 20}/s${i % 97}/t${i}/f`);
}

function helperHarness(files: string[], extra = {}): { h: Harness; logs: string[] } {
  const wt = makeWorktree();
  plant(wt.root, files);
  const logs: string[] = [];
  const h = new Harness(wt, {
    backend: 'inotify',
    scanHelperAfterMs: 0,
    log: (level: string, msg: string) => logs.push(`${level}: ${msg}`),
    ...extra,
  });
  track(h);
  return { h, logs };
}

function helped(logs: string[]): number {
  const line = logs.find((l) => l.includes('the helper listed'));
  return line ? Number(/listed (\d+)/.exec(line)![1]) : 0;
}

test('the helper lists every directory below the root; all of them are watched', async () => {
  const { h, logs } = helperHarness(tree(600));
  await h.start();
  const dirs = await assertAllWatched(h);
  assert.ok(dirs > 600, `${dirs} directories`);
  // With 0 the helper lists everything, the root too.
  assert.equal(helped(logs), dirs + 1, logs.join('\n'));
  assert.deepEqual(
    logs.filter((l) => l.startsWith('warn')),
    [],
  );
});

test('changes made while the helper scans are all caught', async () => {
  const { h, logs } = helperHarness(CHURN_TREE, { scanSliceMs: 0 });
  await startWithChurn(h);
  await assertAllWatched(h);
  assert.ok(helped(logs) > 0, logs.join('\n'));
});

// Last: after this the process does without a helper (see the header).
test('a helper that dies in the middle of an answer: the daemon lists the rest itself', async () => {
  process.env.FSMOND_TEST_HELPER_DIE_AFTER = '2';
  try {
    const { h, logs } = helperHarness(tree(3000), { scanHelperScript: DYING });
    await h.start();
    const dirs = await assertAllWatched(h);
    assert.ok(
      logs.some((l) => l.startsWith('warn') && l.includes('scan helper failed (exited (code 3)')),
      logs.join('\n'),
    );
    const n = helped(logs);
    assert.ok(n > 0 && n < dirs, `the helper listed ${n} of ${dirs} before it died`);
  } finally {
    delete process.env.FSMOND_TEST_HELPER_DIE_AFTER;
  }
});
