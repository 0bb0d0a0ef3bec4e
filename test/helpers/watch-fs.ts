/** Small filesystem helpers for the watch tests (byte-string paths, a seeded PRNG). */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Create `files` (relative paths) under `dir`, making parent directories as needed. */
export function plant(dir: string, files: string[]): void {
  for (const f of files) {
    const p = join(dir, f);
    mkdirSync(join(p, '..'), { recursive: true });
    writeFileSync(p, `${f}\n`);
  }
}

/** Bytes to a byte string (the watcher's path representation). */
export function bstr(bytes: number[] | Buffer): string {
  return Buffer.from(bytes).toString('latin1');
}

/** A deterministic PRNG (mulberry32) so a failing fuzz run can be replayed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
