import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
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
