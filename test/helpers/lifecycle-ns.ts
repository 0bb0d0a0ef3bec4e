/**
 * Runs lifecycle-ns-child.js in a user namespace of its own (`unshare -U -r`, plus `-m` for a
 * mount namespace): there a tmpfs can be mounted and unmounted, and the inotify watch limit
 * (`/proc/sys/user/max_inotify_watches`) lowered, without touching anything machine-wide.
 * Resolves with the child's one JSON line, or {skip} when namespaces are unavailable.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type ChildOutput, outputOf } from './child-output.js';

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'lifecycle-ns-child.js');

export type NsMode = 'unmount' | 'enospc';

export function runInNamespace(mode: NsMode): Promise<Record<string, unknown>> {
  const ns = mode === 'unmount' ? ['-U', '-r', '-m'] : ['-U', '-r'];
  return runUnshared(ns, CHILD, [mode], 120_000);
}

/**
 * Runs `node script ...args --in-user-namespace` under `unshare ...flags`, killed after
 * `guardMs`. Resolves with the last line it printed, parsed as JSON; {skip} when unshare itself
 * fails (no user namespaces here: not a bug of ours), {error} when the script gave no result.
 */
export function runUnshared(
  flags: string[],
  script: string,
  args: string[],
  guardMs: number,
): Promise<Record<string, unknown>> {
  return runWrapped(['unshare', ...flags], script, [...args, '--in-user-namespace'], guardMs);
}

/** The uid and gid of `nobody`: permission checks apply to it, unlike to root. */
export const UNPRIVILEGED_ID = 65534;

/**
 * Runs `node script ...args --unprivileged` as a uid that permission checks apply to (root
 * bypasses them): through setpriv when we are root, directly otherwise.
 */
/**
 * Why uid `id` cannot read `file` through setpriv, as a skip reason, or null when it can. A
 * checkout below a private directory (/root, a 0700 mktemp dir) is out of that uid's reach: a
 * skip, not a bug.
 */
export function cannotRunAs(id: number, file: string): string | null {
  const probe = spawnSync('setpriv', [
    `--reuid=${id}`,
    `--regid=${id}`,
    '--clear-groups',
    'test',
    '-r',
    file,
  ]);
  if (!probe.error && probe.status === 0) return null;
  return `cannot run the test as uid ${id}: ${probe.error?.message ?? `it cannot read ${file}`}`;
}

export function runUnprivileged(
  script: string,
  args: string[],
  guardMs: number,
): Promise<Record<string, unknown>> {
  const id = UNPRIVILEGED_ID;
  if (process.getuid?.() !== 0) return runWrapped([], script, [...args, '--unprivileged'], guardMs);
  const cannot = cannotRunAs(id, script);
  if (cannot) return Promise.resolve({ skip: cannot });
  const wrap = ['setpriv', `--reuid=${id}`, `--regid=${id}`, '--clear-groups'];
  return runWrapped(wrap, script, [...args, '--unprivileged'], guardMs);
}

async function runWrapped(
  wrap: string[],
  script: string,
  args: string[],
  guardMs: number,
): Promise<Record<string, unknown>> {
  const argv = [...wrap, process.execPath, script, ...args];
  const p = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  const guard = setTimeout(() => p.kill('SIGKILL'), guardMs);
  let res: ChildOutput;
  try {
    res = await outputOf(p);
  } catch (e) {
    return { skip: `cannot run ${argv[0]}: ${(e as Error).message}` };
  } finally {
    clearTimeout(guard);
  }
  const { code, stdout: out, stderr: err } = res;
  const line = out.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    const why = `exit ${code}: ${err.trim() || out.trim()}`;
    if (/^unshare:/m.test(err)) return { skip: `user namespaces unavailable (${why})` };
    if (/^setpriv:/m.test(err)) return { skip: `cannot drop privileges (${why})` };
    return { error: `child produced no result (${why})` };
  }
}

/** A child's result for the test to assert on; null once the test is marked skipped. */
export async function childResult(
  t: TestContext,
  run: Promise<Record<string, unknown>>,
): Promise<Record<string, unknown> | null> {
  const res = await run;
  if ('skip' in res) {
    t.skip(String(res.skip));
    return null;
  }
  assert.equal(res.error, undefined, String(res.error));
  return res;
}
