/** Running git's own test scripts through run.sh and reading their TAP lines. */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../src/cli/common.js';

/** The built git >= 2.55 source tree the compat tests need, from GIT_FSMOND_COMPAT_GIT. */
export const COMPAT_GIT = process.env.GIT_FSMOND_COMPAT_GIT;

/** Why the compat tests cannot run here, or null when they can. */
export function cannotRun(script: string): string | null {
  if (!COMPAT_GIT) {
    return 'set GIT_FSMOND_COMPAT_GIT to a built git >= 2.55 source tree to run git test scripts (see test/compat/run.sh)';
  }
  if (!fs.existsSync(path.join(COMPAT_GIT, 't', script))) {
    return `GIT_FSMOND_COMPAT_GIT='${COMPAT_GIT}' has no t/${script}`;
  }
  return null;
}

export interface TapResult {
  n: number;
  title: string;
  ok: boolean;
  skipped: boolean;
  /** test_expect_failure: git's "known breakage", `not ok ... # TODO`. */
  todo: boolean;
}

export interface ScriptRun {
  results: Map<number, TapResult>;
  /** The end of the output, for failure messages. */
  tail: string;
}

/**
 * One script through run.sh: against git-fsmond, or with `baseline` the same script through
 * the same git without it.
 */
export function runGitScript(script: string, opts: { baseline: boolean }): ScriptRun {
  const env = { ...process.env };
  if (opts.baseline) env.COMPAT_BASELINE = '1';
  else delete env.COMPAT_BASELINE;
  const r = spawnSync(path.join(PACKAGE_ROOT, 'test', 'compat', 'run.sh'), [COMPAT_GIT!, script], {
    encoding: 'latin1',
    maxBuffer: 256 << 20,
    env,
  });
  const results = new Map<number, TapResult>();
  for (const m of r.stdout.matchAll(/^(ok|not ok) (\d+) - (.*)$|^ok (\d+) # skip (.*)$/gm)) {
    const n = Number(m[2] ?? m[4]);
    const title = m[3] ?? m[5]!;
    const todo = / # TODO known breakage$/.test(title);
    results.set(n, { n, title, ok: m[1] !== 'not ok', skipped: m[4] !== undefined, todo });
  }
  return { results, tail: `${r.stdout.slice(-1500)}\n${r.stderr.slice(-1500)}` };
}

/** "N passed, N failed, N skipped, N known breakages" of one run. */
export function tally(run: ScriptRun): string {
  const all = [...run.results.values()];
  const count = (f: (x: TapResult) => boolean) => all.filter(f).length;
  const skipped = count((x) => x.skipped);
  const failed = count((x) => !x.ok && !x.todo);
  const todo = count((x) => !x.ok && x.todo);
  return `${all.length - failed - skipped - todo} passed, ${failed} failed, ${skipped} skipped, ${todo} known breakages`;
}
