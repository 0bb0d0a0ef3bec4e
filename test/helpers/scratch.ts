/**
 * The one scratch-directory policy: a fresh real path under the temp dir, removed once its
 * owner passed and kept, with its path printed, when it failed (the daemon log and the
 * worktree are the evidence). The owner is a test (`t`: removed after it) or, for fixtures a
 * whole file shares, the test process (removed at exit unless a test in it failed).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';

const processOwned = new Set<string>();

function removeOrKeep(dir: string, passed: boolean): void {
  if (!passed) {
    process.stderr.write(`kept scratch dir of a failed test: ${dir}\n`);
    return;
  }
  try {
    fs.rmSync(dir, { recursive: true, force: true, maxRetries: 5 });
  } catch {
    // a mount point still busy, say: leave it rather than fail the run
  }
}

process.on('exit', (code) => {
  // node:test sets a non-zero exit code when any test of the file failed.
  const passed = code === 0 && !process.exitCode;
  for (const dir of processOwned) removeOrKeep(dir, passed);
});

/** A fresh scratch dir (realpath), owned by test `t` or, without one, by the test process. */
export function scratchDir(prefix = 'fsmond-', t?: TestContext): string {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), prefix)));
  // `passed` is in Node 20's TestContext, not yet in the @types/node 20 we build against.
  if (t) t.after(() => removeOrKeep(dir, (t as TestContext & { passed: boolean }).passed));
  else processOwned.add(dir);
  return dir;
}
