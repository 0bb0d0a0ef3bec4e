/** The command line of `npm run bench` (bench/run.ts). */
import path from 'node:path';
import { GIT255_ENV } from './gits.js';
import { defaultCacheDir, parseScale, type Scale } from './synth.js';

export interface Options {
  scale: Scale;
  cacheDir: string;
  runs: number;
  warmup: number;
  hookRuns: number;
  startReps: number;
  changed: number;
  changedRounds: number;
  churnQueries: number;
  churnIntervalMs: number;
  smallFiles: number;
  hyperfine: boolean;
  watchman: boolean;
  builtin: boolean;
  git255: string | undefined;
  launcher: string | undefined;
  threadpool: number | undefined;
  nodeOptions: string | undefined;
  json: string | undefined;
  /** The measures to run (--only); every one by default. */
  only: ReadonlySet<Measure>;
}

/**
 * What --only can select. `small` is the small repository (status there and the baselines of
 * start and RSS); `rss` is RSS after start, after the status runs (when `status` runs too) and
 * the peak at the end.
 */
export const MEASURES = ['small', 'status', 'start', 'rss', 'hook', 'churn', 'answer'] as const;
export type Measure = (typeof MEASURES)[number];

function parseOnly(value: string | undefined): ReadonlySet<Measure> {
  if (value === undefined) return new Set(MEASURES);
  const picked = value.split(',').map((m) => m.trim());
  const bad = picked.find((m) => !(MEASURES as readonly string[]).includes(m));
  if (bad !== undefined || picked.length === 0) {
    throw new Error(`bad --only ${value} (a comma-separated list of ${MEASURES.join(', ')})`);
  }
  return new Set(picked as Measure[]);
}

export const USAGE = `usage: npm run bench -- [options]     (node dist/bench/run.js [options])
  --scale S            10k | 100k (default) | 1m | a number of files
  --cache-dir DIR      where the generated repositories are kept (default $TMPDIR/fsmond-bench-<scale>)
  --runs N             timed runs per git status command (default 30; 10 at 1m)
  --warmup N           warm-up runs per git status command (default 3; 2 at 1m)
  --hook-runs N        timed hook round trips (default 300)
  --start-reps N       daemon starts timed (default 3; 2 at 1m)
  --changed N          paths changed for the big answer (default 100000, at most the file count)
  --answer-rounds N    rounds of the big answer (default 3)
  --churn-queries N    queries timed with and without churn (default 200)
  --churn-interval MS  rewrite period of the churned file (default 20)
  --small-files N      files of the small repository (default 200)
  --no-hyperfine       time with a spawnSync loop even when hyperfine is installed
  --no-watchman        do not compare with Watchman even when installed
  --no-builtin         do not compare with git's builtin daemon even when a git >= 2.55 is found
  --git255 PATH        git >= 2.55 (default: $${GIT255_ENV}, else /work/build/git-2.55.0/git, else git on PATH)
  --launcher PATH      daemon launcher (default bin/git-fsmond)
  --threadpool N       UV_THREADPOOL_SIZE for git-fsmond (default: bin/git-fsmond's 8)
  --node-options STR   NODE_OPTIONS for git-fsmond (e.g. --node-options=--max-semi-space-size=2)
  --json FILE          also write every raw number to FILE
  --only LIST          run only these measures, for every daemon (default all): a comma-separated
                       list of ${MEASURES.join(', ')}; start at 1m without the whole run:
                       --scale 1m --only start,rss`;

const FLAGS = ['--no-hyperfine', '--no-watchman', '--no-builtin'];
const STRINGS = ['scale', 'cache-dir', 'git255', 'launcher', 'node-options', 'json', 'only'];

export function parseArgs(argv: string[]): Options {
  const set: Partial<Record<string, string>> = {};
  const flags = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--help' || a === '-h') {
      console.log(USAGE);
      process.exit(0);
    }
    if (FLAGS.includes(a)) {
      flags.add(a);
      continue;
    }
    const eq = a.indexOf('=');
    const key = eq > 0 ? a.slice(0, eq) : a;
    const value = eq > 0 ? a.slice(eq + 1) : argv[++i];
    if (!key.startsWith('--') || value === undefined) throw new Error(`bad argument ${a}`);
    set[key.slice(2)] = value;
  }
  const scale = parseScale(set.scale ?? '100k');
  const big = scale.files >= 500_000;
  const int = (k: string, def: number, min = 0) => {
    const v = set[k];
    delete set[k];
    if (v === undefined) return def;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`bad --${k} ${v} (an integer >= ${min})`);
    return n;
  };
  const opts: Options = {
    scale,
    cacheDir: path.resolve(set['cache-dir'] ?? defaultCacheDir(scale)),
    runs: int('runs', big ? 10 : 30, 1),
    warmup: int('warmup', big ? 2 : 3),
    hookRuns: int('hook-runs', 300, 1),
    startReps: int('start-reps', big ? 2 : 3, 1),
    changed: int('changed', 100_000, 1),
    changedRounds: int('answer-rounds', 3, 1),
    churnQueries: int('churn-queries', 200, 1),
    churnIntervalMs: int('churn-interval', 20, 1),
    smallFiles: int('small-files', 200, 1),
    hyperfine: !flags.has('--no-hyperfine'),
    watchman: !flags.has('--no-watchman'),
    builtin: !flags.has('--no-builtin'),
    git255: set.git255,
    launcher: set.launcher ? path.resolve(set.launcher) : undefined,
    threadpool: set.threadpool === undefined ? undefined : int('threadpool', 8, 1),
    nodeOptions: set['node-options'],
    json: set.json ? path.resolve(set.json) : undefined,
    only: parseOnly(set.only),
  };
  for (const k of STRINGS) delete set[k];
  const unknown = Object.keys(set);
  if (unknown.length) throw new Error(`unknown option --${unknown[0]} (see --help)`);
  return opts;
}
