/**
 * The CLI on a git dir whose filesystem turned read-only, or has no inode left (each on a tmpfs
 * in a user and mount namespace of the test's own: nothing machine-wide is touched). Skipped
 * with the reason where namespaces or tmpfs mounts are unavailable.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { type TestContext, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runUnshared } from '../helpers/lifecycle-ns.js';

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), '../helpers/cli-fs-child.js');

/** The child's facts for `mode`, or null when the test was skipped (with the reason). */
async function facts(t: TestContext, mode: string): Promise<Record<string, unknown> | null> {
  const res = await runUnshared(['-U', '-r', '-m'], CHILD, [mode], 120_000);
  if ('skip' in res) {
    t.skip(String(res.skip));
    return null;
  }
  assert.equal(res.error, undefined, String(res.error));
  return res;
}

test('a read-only git dir: doctor names the read-only filesystem; start refuses saying so', async (t) => {
  const res = await facts(t, 'readonly');
  if (!res) return;
  assert.match(
    String(res.doctorRunning),
    /^warn daemon: pid \d+ answers only \/ \(every git command rescans\): '.*' is on a read-only filesystem, where no cookie can be written; fix: remount it read-write/,
  );
  assert.equal(res.stopCode, 0);
  assert.equal(res.startCode, 1);
  assert.match(
    String(res.startErr),
    /^git-fsmond: the daemon cannot start: '.*' is on a read-only filesystem; fix: /,
  );
});

test('no inode left: start says why the daemon exited', async (t) => {
  const res = await facts(t, 'noinodes');
  if (!res) return;
  assert.equal(res.startCode, 1);
  assert.match(
    String(res.startErr),
    /^git-fsmond: the daemon exited with code 1 before listening: .*ENOSPC: no space left on device.*; see '.*daemon\.log'$/,
  );
});
