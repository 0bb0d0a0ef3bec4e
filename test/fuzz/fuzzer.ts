import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  daemonStatus,
  git,
  makeRepo,
  startRealDaemon,
  statusOracle,
  statusWithMonitor,
  stopDaemon,
} from '../helpers/git.js';
import { scratchDir } from '../helpers/scratch.js';
import { DEFAULT_WEIGHTS, OPS, type OpContext } from './ops.js';
import { Rng } from './random.js';

export interface FuzzOptions {
  seed: number;
  rounds: number;
  /** Operation weights; 0 disables one. */
  weights?: Record<string, number>;
  maxOpsPerRound?: number;
  untrackedCache?: boolean;
  /** Keep going after a failure (each later round is still compared). */
  keepGoing?: boolean;
  /**
   * Every full scan through the scan helper process (fsmond.scanHelperAfterMs=0); the
   * fuzzer's trees are far too small to reach the default. Default: on for odd seeds.
   */
  scanHelper?: boolean;
  log?: (line: string) => void;
}

export interface FuzzFailure {
  seed: number;
  round: number;
  /** Which status differed: the round's final one in A, or one an operation ran. */
  where: string;
  ops: string[];
  withMonitor: string;
  oracle: string;
}

export interface FuzzResult {
  seed: number;
  rounds: number;
  failures: FuzzFailure[];
  opCounts: Record<string, number>;
  /** Answers the daemon(s) gave, and how many of them were `/`. */
  answers: number;
  trivialAnswers: number;
  restarts: number;
}

function pickOp(rng: Rng, weights: Record<string, number>): string {
  const entries = Object.entries(weights).filter(([, w]) => w > 0);
  let r = rng.next() * entries.reduce((s, [, w]) => s + w, 0);
  for (const [name, w] of entries) {
    r -= w;
    if (r < 0) return name;
  }
  return entries.at(-1)![0];
}

/**
 * The differential fuzzer: random mutations, then `git status` through git-fsmond against
 * `git status` without any monitor. Any difference is a wrong answer.
 */
export async function runFuzz(opts: FuzzOptions): Promise<FuzzResult> {
  const rng = new Rng(opts.seed);
  const weights = { ...DEFAULT_WEIGHTS, ...opts.weights };
  const parent = scratchDir('fsmond-fuzz-');
  const wt = makeRepo({ parent, untrackedCache: opts.untrackedCache ?? true });
  if (opts.scanHelper ?? opts.seed % 2 === 1) git(wt, ['config', 'fsmond.scanHelperAfterMs', '0']);
  const outside = path.join(parent, 'outside');
  fs.mkdirSync(outside);
  const result: FuzzResult = {
    seed: opts.seed,
    rounds: 0,
    failures: [],
    opCounts: {},
    answers: 0,
    trivialAnswers: 0,
    restarts: 0,
  };
  let child: ChildProcess | null = await startRealDaemon(wt);
  const tally = async () => {
    const s = await daemonStatus(wt);
    if (s) {
      result.answers += s.answers;
      result.trivialAnswers += s.trivialAnswers;
    }
  };
  /** SIGKILL, so the shim must restart it and the new daemon must answer `/` to old tokens. */
  const killDaemon = async () => {
    const s = await daemonStatus(wt);
    if (!s) return null;
    result.answers += s.answers;
    result.trivialAnswers += s.trivialAnswers;
    process.kill(s.pid, 'SIGKILL');
    child = null;
    result.restarts++;
    return `kill -9 daemon ${s.pid}`;
  };
  /** Differences found by the operations' own status runs during the current round. */
  let mismatches: { where: string; withMonitor: string; oracle: string; ops: number }[] = [];
  const ops: string[] = [];
  const ctx: OpContext = {
    rng,
    wt,
    root: Buffer.from(wt),
    outside: Buffer.from(outside),
    gitDir: path.join(wt, '.git'),
    other: path.join(parent, 'other-worktree'),
    daemonPid: async () => (await daemonStatus(wt))?.pid ?? null,
    compare: (where, withMonitor, oracle) => {
      if (withMonitor !== oracle) mismatches.push({ where, withMonitor, oracle, ops: ops.length });
    },
  };
  try {
    statusWithMonitor(wt);
    for (let round = 1; round <= opts.rounds; round++) {
      ops.length = 0;
      mismatches = [];
      for (let i = rng.int(1, opts.maxOpsPerRound ?? 8); i > 0; i--) {
        const name = pickOp(rng, weights);
        const did = name === 'restartDaemon' ? await killDaemon() : await OPS[name]!(ctx);
        if (did) {
          ops.push(did);
          result.opCounts[name] = (result.opCounts[name] ?? 0) + 1;
        }
      }
      const withMonitor = statusWithMonitor(wt);
      const oracle = statusOracle(wt);
      result.rounds = round;
      if (withMonitor !== oracle) {
        mismatches.push({ where: 'git status in A', withMonitor, oracle, ops: ops.length });
      }
      for (const m of mismatches) {
        // The operation that ran the status is the last one listed.
        const failure = { seed: opts.seed, round, ...m, ops: ops.slice(0, m.ops + 1) };
        result.failures.push(failure);
        opts.log?.(describeFailure(failure));
      }
      if (mismatches.length && !opts.keepGoing) break;
      if (round % 25 === 0)
        opts.log?.(`seed ${opts.seed}: ${round} rounds, ${result.failures.length} failures`);
    }
    await tally();
  } finally {
    await stopDaemon(wt).catch(() => {});
    child?.kill('SIGKILL');
    fs.rmSync(parent, { recursive: true, force: true });
  }
  return result;
}

export function describeFailure(f: FuzzFailure): string {
  return [
    `WRONG ANSWER: seed ${f.seed}, round ${f.round}: ${f.where}`,
    'operations this round:',
    ...f.ops.map((o) => `  ${o}`),
    '--- git status with git-fsmond',
    f.withMonitor,
    '--- git status without a monitor',
    f.oracle,
  ].join('\n');
}
