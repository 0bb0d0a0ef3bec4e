/** What every measure of bench/run.ts gets. */
import { spawnSync } from 'node:child_process';
import type { Options } from './options.js';
import type { Results } from './report.js';

export interface Context {
  opts: Options;
  scratch: string;
  /** The environment of every git and hook run (bench/synth.ts gitEnv). */
  env: NodeJS.ProcessEnv;
  results: Results;
  log: (msg: string) => void;
}

/** Runs argv (no shell) to the end; its stdout, or an error with its stderr. */
export function runArgv(ctx: Context, argv: string[], extra: Record<string, string> = {}): string {
  const r = spawnSync(argv[0]!, argv.slice(1), {
    cwd: '/',
    env: { ...ctx.env, ...extra },
    encoding: 'latin1',
    maxBuffer: 1 << 30,
  });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed (exit ${r.status}): ${r.stderr}`);
  return r.stdout;
}
