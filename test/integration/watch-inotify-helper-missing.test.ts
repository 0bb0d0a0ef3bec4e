/**
 * A scan helper that cannot run at all (its script is missing): the scan does without it.
 * Its own file, because a helper failure turns the helper off for the rest of the process.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { plant } from '../helpers/watch-fs.js';
import { closeAfterEachTest, Harness, makeWorktree } from '../helpers/watch-harness.js';
import { assertAllWatched } from '../helpers/watch-probes.js';

const track = closeAfterEachTest({ check: true });

test('no helper script: a warning, and every directory is watched all the same', async () => {
  const wt = makeWorktree();
  plant(
    wt.root,
    Array.from({ length: 200 }, (_, i) => `d${i % 10}/s${i}/f`),
  );
  const logs: string[] = [];
  const h = track(
    new Harness(wt, {
      backend: 'inotify',
      scanHelperAfterMs: 0,
      scanHelperScript: `${wt.base}/no-such-helper.js`,
      log: (level: string, msg: string) => logs.push(`${level}: ${msg}`),
    }),
  );
  await h.start();
  await assertAllWatched(h);
  assert.ok(
    logs.some((l) => l.startsWith('warn') && l.includes('scan helper failed')),
    logs.join('\n'),
  );
  assert.ok(!logs.some((l) => l.includes('the helper listed')), logs.join('\n'));
});
