/**
 * The measures of one daemon (bench/monitor.ts), each beside a baseline of the same run: start
 * to the first incremental answer and RSS (against the same daemon on the small repository),
 * the hook round trip (against spawning `true`), query latency under churn (against the same
 * queries without), and the answer for many changed paths (against a no-change query).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Context } from './context.js';
import { fmtMB, fmtMs, loadAverage, onPath, sleep, stats, timeCommands } from './measure.js';
import { hookArgv, type Monitor, type QueryResult, type StartTiming } from './monitor.js';
import type { Layout } from './synth.js';

const here = path.dirname(fileURLToPath(import.meta.url));

/** What the small repository gives as baselines for the same daemon. */
export interface Fixed {
  start: number;
  rss: number;
}

/**
 * Starts every daemon `reps` times from nothing, round by round (one daemon running at a time),
 * so that the machine's drifting speed hits each alike; the last start of each stays up.
 * Median ms to the first incremental answer, by monitor key.
 */
export async function measureStarts(
  ctx: Context,
  monitors: Monitor[],
  reps: number,
): Promise<Map<string, number>> {
  const timings = new Map<Monitor, StartTiming[]>(monitors.map((m) => [m, []]));
  for (let i = 0; i < reps; i++) {
    for (const mon of monitors) {
      ctx.log(
        `${mon.name}: start ${i + 1} of ${reps} on ${mon.root} (load average ${loadAverage()})`,
      );
      timings.get(mon)!.push(await mon.start());
      if (i < reps - 1) await mon.stop();
    }
  }
  const medians = new Map<string, number>();
  for (const [mon, starts] of timings) {
    const st = (k: keyof StartTiming) => stats(starts.map((s) => s[k])).median;
    ctx.results.detail(
      `${mon.name} on ${mon.root}: start (median of ${reps}): listening ${fmtMs(st('listenMs'))}, ` +
        `first usable token ${fmtMs(st('firstAnswerMs'))}, incremental ${fmtMs(st('incrementalMs'))} ` +
        `(each: ${starts.map((s) => fmtMs(s.incrementalMs)).join(', ')})`,
    );
    medians.set(mon.key, st('incrementalMs'));
  }
  return medians;
}

export function recordStart(ctx: Context, mon: Monitor, ms: number, fixed?: Fixed): void {
  ctx.results
    .daemonMeasure('start', 'start -> first incremental answer', 'ms', 'small repo')
    .cells.set(mon.key, { value: ms, base: fixed?.start });
}

const MEMORY = {
  'rss.start': 'RSS 1 s after start',
  rss: 'RSS after the status runs',
  hwm: 'peak RSS (VmHWM), end of run',
} as const;

/** RSS now (or the peak so far); nothing for a daemon whose memory is not observable. */
export function recordMemory(
  ctx: Context,
  mon: Monitor,
  id: keyof typeof MEMORY,
  fixed?: Fixed,
): number {
  const mem = mon.memory?.() ?? null;
  const value = mem ? (id === 'hwm' ? mem.hwm : mem.rss) : Number.NaN;
  ctx.results
    .daemonMeasure(id, MEMORY[id], 'bytes', 'small repo, 1 s after start')
    .cells.set(mon.key, { value, base: fixed?.rss });
  // Also in the details, which a run stopped half-way has printed already.
  ctx.results.detail(`${mon.name} on ${mon.root}: ${MEMORY[id]} ${fmtMB(value)}`);
  return value;
}

/** How often to ask `mon` what `n` stands for (see Monitor.slowQueries). */
export const queriesFor = (mon: Monitor, n: number) =>
  mon.slowQueries ? Math.max(10, Math.ceil(n / 10)) : n;

/** Every daemon's hook and `true`, interleaved in the same calls (slow hooks in their own). */
export async function measureHooks(ctx: Context, monitors: Monitor[]): Promise<void> {
  const hooked = monitors.filter((m) => m.hook);
  for (const slow of [false, true]) {
    const group = hooked.filter((m) => !!m.slowQueries === slow);
    if (group.length) await timeHooks(ctx, group, queriesFor(group[0]!, ctx.opts.hookRuns));
  }
}

async function timeHooks(ctx: Context, monitors: Monitor[], runs: number): Promise<void> {
  const hooked: Array<{ mon: Monitor; args: string[] }> = [];
  for (const mon of monitors) {
    const first = await mon.query('');
    const token = (await mon.query(first.token)).token;
    hooked.push({ mon, args: hookArgv(mon.hook!, token) });
  }
  const r = timeCommands(
    [
      { name: 'true', args: [onPath('true') ?? '/bin/true'] },
      ...hooked.map((h) => ({
        name: h.mon.key,
        args: h.args,
        check: (out: Buffer) => (out.indexOf(0) > 0 ? null : 'no answer'),
      })),
    ],
    {
      cwd: hooked[0]!.mon.root,
      env: ctx.env,
      runs,
      warmup: Math.min(10, runs),
      hyperfine: ctx.opts.hyperfine,
      scratch: ctx.scratch,
      rounds: 3,
    },
  );
  ctx.results.raw[`hook.${hooked.map((h) => h.mon.key).join('+')}`] = Object.fromEntries(r.times);
  const t = stats(r.times.get('true')!);
  const median = ctx.results.daemonMeasure(
    'hook',
    'hook round trip, median',
    'ms',
    'spawning `true`',
  );
  const p95 = ctx.results.daemonMeasure(
    'hook.p95',
    'hook round trip, p95',
    'ms',
    'spawning `true`',
  );
  for (const { mon, args } of hooked) {
    const h = stats(r.times.get(mon.key)!);
    median.cells.set(mon.key, { value: h.median, base: t.median });
    p95.cells.set(mon.key, { value: h.p95, base: t.p95 });
    ctx.results.detail(
      `${mon.name}: hook round trip: median ${fmtMs(h.median)} p95 ${fmtMs(h.p95)}, \`true\` ${fmtMs(t.median)}; ` +
        `${args.join(' ')}; ${r.method}`,
    );
  }
}

/** `n` queries, each with the previous answer's token, 0-10 ms apart. */
async function timedQueries(mon: Monitor, token: string, n: number) {
  const client: number[] = [];
  const server: number[] = [];
  let trivial = 0;
  for (let i = 0; i < n; i++) {
    const q = await mon.query(token);
    token = q.token;
    client.push(q.ms);
    if (q.trivial) trivial++;
    if (mon.serverMs) server.push(await mon.serverMs());
    await sleep(Math.random() * 10);
  }
  return { token, client: stats(client), server: stats(server), trivial, all: client };
}

/** Query latency while a child rewrites one file every churnIntervalMs, against quiet. */
export async function measureChurn(ctx: Context, mon: Monitor, layout: Layout): Promise<void> {
  const n = queriesFor(mon, ctx.opts.churnQueries);
  const quiet = await timedQueries(mon, (await mon.query('')).token, n);
  const file = path.join(mon.root, layout.rel(layout.spread(1, layout.files >> 1)[0]!));
  const churner = spawn(
    process.execPath,
    [path.join(here, 'churn.js'), file, String(ctx.opts.churnIntervalMs)],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let out = '';
  churner.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<void>((r) => churner.once('close', () => r()));
  try {
    const t = Date.now();
    while (!out.includes('ready') && Date.now() - t < 10_000) await sleep(5);
    await sleep(200);
    const busy = await timedQueries(mon, quiet.token, n);
    churner.kill('SIGTERM');
    await exited;
    ctx.results.raw[`churn.${mon.key}`] = { quiet: quiet.all, churn: busy.all };
    ctx.results
      .daemonMeasure('churn', 'query under churn, median', 'ms', 'same queries, no churn')
      .cells.set(mon.key, { value: busy.client.median, base: quiet.client.median });
    ctx.results
      .daemonMeasure('churn.p95', 'query under churn, p95', 'ms', 'same queries, no churn')
      .cells.set(mon.key, { value: busy.client.p95, base: quiet.client.p95 });
    ctx.results.detail(
      `${mon.name}: ${n} queries 0-10 ms apart: quiet median ${fmtMs(quiet.client.median)} p95 ${fmtMs(quiet.client.p95)}; ` +
        `churn median ${fmtMs(busy.client.median)} p95 ${fmtMs(busy.client.p95)} max ${fmtMs(busy.client.max)} ` +
        `(${/writes (\d+)/.exec(out)?.[1] ?? '?'} writes, ${busy.trivial} '/' answers)` +
        (mon.serverMs
          ? `; daemon-side median ${fmtMs(quiet.server.median)} quiet, ${fmtMs(busy.server.median)} churn`
          : ''),
    );
  } finally {
    if (churner.exitCode === null) churner.kill('SIGKILL');
  }
}

/** A token, `utimes` on many files, then one query with it: right after, and once caught up. */
export async function measureAnswer(ctx: Context, mon: Monitor, layout: Layout): Promise<void> {
  const n = Math.min(ctx.opts.changed, layout.files);
  const label = n === 100_000 ? '100k' : `${n}`;
  const changed = layout.spread(n, 3).map((j) => path.join(mon.root, layout.rel(j)));
  const touch = () => {
    const now = new Date();
    for (const f of changed) fs.utimesSync(f, now, now);
  };
  const quiet: number[] = [];
  const imm: QueryResult[] = [];
  const settled: QueryResult[] = [];
  let token = (await mon.query('')).token;
  for (let i = 0; i < ctx.opts.changedRounds; i++) {
    await mon.settle();
    const q = await mon.query(token);
    quiet.push(q.ms);
    touch();
    const a = await mon.query(q.token);
    imm.push(a);
    touch();
    await mon.settle();
    const b = await mon.query(a.token);
    settled.push(b);
    token = b.token;
  }
  ctx.results.raw[`answer.${mon.key}`] = { n, quiet, immediate: imm, settled };
  const base = stats(quiet).median;
  const record = (id: string, what: string, qs: QueryResult[]) => {
    const s = stats(qs.map((q) => q.ms));
    const allTrivial = qs.every((q) => q.trivial);
    ctx.results
      .daemonMeasure(id, `answer, ${label} changed paths, ${what}`, 'ms', 'no-change query')
      .cells.set(mon.key, {
        value: s.median,
        base,
        text: allTrivial ? `/ ${fmtMs(s.median)}` : undefined,
      });
    return qs.map((q) => `${fmtMs(q.ms)}${q.trivial ? ' /' : ''}`).join(', ');
  };
  const sized = [...imm, ...settled].find((q) => !q.trivial);
  ctx.results.detail(
    `${mon.name}: ${label} changed paths: right after ${record('answer', 'right after', imm)}; ` +
      `settled ${record('answer.settled', 'settled', settled)}; ` +
      (sized ? `answers of ${sized.paths} paths, ${fmtMB(sized.bytes)}` : "every answer was '/'"),
  );
}

/** The start target is a ratio to git's builtin daemon, started on the same repository size. */
export function compareStarts(ctx: Context, starts: ReadonlyMap<string, number>): void {
  const ours = starts.get('fsmond');
  const builtin = starts.get('builtin');
  if (ours === undefined || builtin === undefined) return;
  ctx.results.detail(
    `start -> first incremental answer: git-fsmond ${fmtMs(ours)} / builtin ${fmtMs(builtin)} = ` +
      `${(ours / builtin).toFixed(2)}x (target <= 0.5x at 1m; medians of starts interleaved round by round)`,
  );
}
