/**
 * `git status --porcelain` in every mode (bench/modes.ts), all modes in the same timed calls
 * with the order rotated from round to round, so that load drift on a shared machine hits all
 * alike. Each case also checks, outside the timing, that every mode prints what the status
 * without fsmonitor prints, and traces one run per monitored mode (GIT_TRACE2_PERF).
 */
import fs from 'node:fs';
import path from 'node:path';
import { type Context, runArgv } from './context.js';
import { fmtMs, shQuote, sleep, stats, timeCommands } from './measure.js';
import { type Mode, noneKey, statusOf } from './modes.js';
import type { StatusCase } from './report.js';
import type { SynthRepo } from './synth.js';
import { summarizeTrace } from './trace.js';

export interface CaseSpec {
  id: string;
  label: string;
  /** argv run before every run of every mode, untimed (no shell). */
  prepare?: string[];
  /** Puts the files back once the case is done. */
  restore?: () => void;
}

/** No change, then `count` files touched, then the same files appended to, in every repository. */
export function statusCases(repos: SynthRepo[], count: number): CaseSpec[] {
  const files = repos.flatMap((r) =>
    r.layout.spread(count, 7).map((j) => path.join(r.root, r.layout.rel(j))),
  );
  const quoted = files.map(shQuote).join(' ');
  return [
    { id: 'status.nochange', label: 'git status, no change' },
    {
      id: 'status.touched',
      label: `git status, ${count} files touched`,
      prepare: ['touch', '-c', ...files],
    },
    {
      id: 'status.modified',
      label: `git status, ${count} files modified`,
      prepare: ['sh', '-c', `for f in ${quoted}; do printf x >>"$f"; done`],
      restore: () => restoreFiles(repos, count),
    },
  ];
}

function restoreFiles(repos: SynthRepo[], count: number): void {
  for (const r of repos) {
    for (const j of r.layout.spread(count, 7))
      fs.writeFileSync(path.join(r.root, r.layout.rel(j)), r.layout.content(j));
  }
}

/**
 * Brings every mode's index up to date and out of the racy-git window (a second run a second
 * later), so that no run re-hashes files.
 */
export async function settleIndexes(ctx: Context, modes: Mode[]): Promise<void> {
  for (const m of modes) runArgv(ctx, statusOf(m));
  await sleep(1100);
  for (const m of modes) runArgv(ctx, statusOf(m));
}

export async function measureStatus(
  ctx: Context,
  spec: CaseSpec,
  all: Mode[],
): Promise<StatusCase> {
  const modes = spec.prepare ? all.filter((m) => !m.noChangeOnly) : all;
  const r = timeCommands(
    modes.map((m) => ({ name: m.key, args: statusOf(m) })),
    {
      cwd: '/',
      env: ctx.env,
      runs: ctx.opts.runs,
      warmup: ctx.opts.warmup,
      prepare: spec.prepare,
      hyperfine: ctx.opts.hyperfine,
      scratch: ctx.scratch,
      rounds: 3,
    },
  );
  const result: StatusCase = { id: spec.id, label: spec.label, method: r.method, cells: new Map() };
  ctx.results.raw[spec.id] = Object.fromEntries(r.times);
  // The answers must agree: one more run of each, outside the timing.
  if (spec.prepare) runArgv(ctx, spec.prepare);
  const outputs = new Map(modes.map((m) => [m.key, runArgv(ctx, statusOf(m))]));
  for (const m of modes) {
    const s = stats(r.times.get(m.key)!);
    const agree = outputs.get(m.key) === outputs.get(noneKey(m.git));
    result.cells.set(m.key, { median: s.median, p95: s.p95, agree });
    const bad = r.bad.get(m.key);
    ctx.results.detail(
      `${spec.label}: ${m.name}: median ${fmtMs(s.median)} p95 ${fmtMs(s.p95)}` +
        `${agree ? '' : '; OUTPUT DIFFERS from the status without fsmonitor'}${bad ? `; ${bad} failed runs` : ''}`,
    );
    if (m.monitor) traceOne(ctx, spec, m);
  }
  spec.restore?.();
  if (spec.prepare) await settleIndexes(ctx, modes);
  return result;
}

/** Where one monitored run spends its time, for the details. */
function traceOne(ctx: Context, spec: CaseSpec, m: Mode): void {
  if (spec.prepare) runArgv(ctx, spec.prepare);
  const trace = path.join(ctx.scratch, 'trace2.txt');
  fs.rmSync(trace, { force: true });
  runArgv(ctx, statusOf(m), { GIT_TRACE2_PERF: trace });
  if (!fs.existsSync(trace)) return;
  ctx.results.detail(
    `${spec.label}: ${m.name}: one traced run (ms): ${summarizeTrace(fs.readFileSync(trace, 'utf8'))}`,
  );
}
