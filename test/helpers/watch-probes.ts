import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { type Harness, sorted } from './watch-harness.js';

/**
 * A probe file written in every directory below the root, all reported at the next sync:
 * every directory is watched under its current name. Returns how many directories there are.
 */
export async function assertAllWatched(h: Harness): Promise<number> {
  const probes: string[] = [];
  const walk = (rel: string) => {
    for (const e of readdirSync(h.p(rel), { withFileTypes: true })) {
      if (!e.isDirectory() || e.name === '.git') continue;
      const r = rel ? `${rel}/${e.name}` : e.name;
      probes.push(`${r}/probe`);
      walk(r);
    }
  };
  walk('');
  for (const p of probes) writeFileSync(h.p(p), 'p');
  assert.deepEqual(await h.sync(), sorted(probes));
  assert.equal(h.watcher.stats().watchedDirs, probes.length + 1);
  return probes.length;
}

/** The tree that scanChurn() expects: 30 directories of 10 subdirectories each. */
export const CHURN_TREE = Array.from({ length: 300 }, (_, i) => `d${i % 30}/s${i}/f`);

/**
 * Start `h` (planted with CHURN_TREE) and, while its scan runs, move, create and delete
 * directories it may or may not have listed yet; resolves once the scan is done and synced.
 * Give the harness `scanSliceMs: 0`, so the changes land between the scan's listings.
 */
export async function startWithChurn(h: Harness): Promise<void> {
  const started = h.watcher.start();
  for (let i = 0; i < 30; i++) {
    renameSync(h.p(`d${i}/s${i}`), h.p(`d${(i + 7) % 30}/moved${i}`));
    mkdirSync(h.p(`d${i}/new${i}/deep`), { recursive: true });
    rmSync(h.p(`d${i}/s${i + 30}`), { recursive: true });
    await new Promise((r) => setImmediate(r));
  }
  await started;
  await h.sync();
}
