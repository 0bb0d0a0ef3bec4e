/**
 * Benchmarks at scale: `npm run bench` (100k files), `npm run bench -- --scale 1m`.
 *
 * Builds (or reuses) a synthetic committed repository with the untracked cache on
 * (bench/synth.ts), then for git-fsmond, and for Watchman and git's builtin daemon when they
 * are on the machine, measures in one run: `git status --porcelain` against no fsmonitor in
 * three cases (no change, 10 files touched, 10 files modified), the hook round trip, the
 * daemon's RSS, spawn to the first incremental answer, the answer for 100k changed paths, and
 * query latency while one file is rewritten every 20 ms. Prints one table with the baseline
 * of each measure (taken in the same run), the ratios, and pass/fail against the targets of
 * README.md "Performance" as information: the exit code never depends on timings.
 *
 * See bench/README.md for the options.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BuiltinMonitor, detectBuiltin } from './builtin.js';
import {
  fmtMB,
  fmtMs,
  fmtRatio,
  loadAverage,
  onPath,
  renderTable,
  sleep,
  stats,
  type TimedCommand,
  timeCommands,
} from './measure.js';
import {
  FsmondMonitor,
  hookStatusArgs,
  type Monitor,
  type QueryResult,
  type StartTiming,
} from './monitor.js';
import {
  defaultCacheDir,
  ensureRepo,
  git,
  gitEnv,
  parseScale,
  type Scale,
  type SynthRepo,
  settleIndex,
} from './synth.js';
import { detectWatchman, WatchmanMonitor } from './watchman.js';

const here = path.dirname(fileURLToPath(import.meta.url));

interface Options {
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
  hyperfine: boolean;
  watchman: boolean;
  builtin: boolean;
  builtinGit: string;
  launcher: string | undefined;
  threadpool: number | undefined;
  nodeOptions: string | undefined;
  json: string | undefined;
}

const USAGE = `usage: npm run bench -- [options]     (node dist/bench/run.js [options])
  --scale S            10k | 100k (default) | 1m | a number of files
  --cache-dir DIR      where the generated repository is kept (default $TMPDIR/fsmond-bench-<scale>)
  --runs N             timed runs per git status command (default 30; 10 at 1m)
  --warmup N           warm-up runs per git status command (default 3; 2 at 1m)
  --hook-runs N        timed hook round trips (default 300)
  --start-reps N       daemon starts timed (default 3; 2 at 1m)
  --changed N          paths changed for the big answer (default 100000, at most the file count)
  --answer-rounds N    rounds of the big answer (default 3)
  --churn-queries N    queries timed with and without churn (default 200)
  --churn-interval MS  rewrite period of the churned file (default 20)
  --no-hyperfine       time with a spawnSync loop even when hyperfine is installed
  --no-watchman        do not compare with Watchman even when installed
  --no-builtin         do not compare with git's builtin daemon even when available
  --builtin-git PATH   git >= 2.55 to use for the builtin daemon (default: git on PATH)
  --launcher PATH      daemon launcher (default bin/git-fsmond)
  --threadpool N       UV_THREADPOOL_SIZE for git-fsmond (default: bin/git-fsmond's 8)
  --node-options STR   NODE_OPTIONS for git-fsmond (e.g. --node-options=--max-semi-space-size=2)
  --json FILE          also write every raw number to FILE`;

function parseArgs(argv: string[]): Options {
  let scale = parseScale('100k');
  const set: Partial<Record<string, string>> = {};
  const flags = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--help' || a === '-h') {
      console.log(USAGE);
      process.exit(0);
    }
    if (a === '--no-hyperfine' || a === '--no-watchman' || a === '--no-builtin') {
      flags.add(a);
      continue;
    }
    const eq = a.indexOf('=');
    const key = eq > 0 ? a.slice(0, eq) : a;
    const value = eq > 0 ? a.slice(eq + 1) : argv[++i];
    if (!key.startsWith('--') || value === undefined)
      throw new Error(`bad argument ${a}\n${USAGE}`);
    set[key.slice(2)] = value;
  }
  if (set.scale) scale = parseScale(set.scale);
  const big = scale.files >= 500_000;
  const int = (k: string, def: number, min = 0) => {
    const v = set[k];
    delete set[k];
    if (v === undefined) return def;
    const n = Number.parseInt(v, 10);
    if (!(n >= min)) throw new Error(`bad --${k} ${v}`);
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
    hyperfine: !flags.has('--no-hyperfine'),
    watchman: !flags.has('--no-watchman'),
    builtin: !flags.has('--no-builtin'),
    builtinGit: set['builtin-git'] ?? 'git',
    launcher: set.launcher ? path.resolve(set.launcher) : undefined,
    threadpool: set.threadpool === undefined ? undefined : int('threadpool', 8, 1),
    nodeOptions: set['node-options'],
    json: set.json ? path.resolve(set.json) : undefined,
  };
  for (const k of ['scale', 'cache-dir', 'builtin-git', 'launcher', 'node-options', 'json']) {
    delete set[k];
  }
  const unknown = Object.keys(set);
  if (unknown.length) throw new Error(`unknown option --${unknown[0]}\n${USAGE}`);
  return opts;
}

// ---- results ---------------------------------------------------------------------------

type Unit = 'ms' | 'bytes';

interface Cell {
  value: number;
  /** This monitor's own baseline for the measure (same hyperfine run, same git binary). */
  base?: number;
  /** Shown instead of the value (e.g. an answer that was `/`). */
  text?: string;
}

interface Measure {
  id: string;
  label: string;
  unit: Unit;
  baseline: string;
}

interface Target {
  limit: number;
  /** `<= 23 ms (builtin 20, Watchman 50, none 189)` */
  text: string;
}

function targetFor(id: string, files: number): Target | null {
  const at100k = files === 100_000;
  const at1m = files === 1_000_000;
  switch (id) {
    case 'status.nochange':
      if (at100k) return { limit: 23, text: '<= 23 ms (builtin 20, Watchman 50, none 189)' };
      if (at1m) return { limit: 200, text: '<= 200 ms (builtin 193, Watchman 270)' };
      return null;
    case 'rss.start':
    case 'rss':
      return at1m ? { limit: 100e6, text: '<= 100 MB (builtin 23, Watchman 354)' } : null;
    case 'start':
      return at1m ? { limit: 6000, text: '<= 6 s (builtin 9-10, Watchman 13-15)' } : null;
    case 'churn':
    case 'churn.p95':
      return { limit: 5, text: '<= 5 ms' };
    default:
      return null;
  }
}

class Results {
  readonly measures: Measure[] = [];
  /** measure id -> monitor key -> cell */
  readonly cells = new Map<string, Map<string, Cell>>();
  /** measure id -> the baseline shown in the table (git-fsmond's) */
  readonly baselines = new Map<string, number>();
  readonly details: string[] = [];
  readonly raw: Record<string, unknown> = {};

  measure(id: string, label: string, unit: Unit, baseline: string): void {
    const m = this.measures.find((x) => x.id === id);
    if (m) m.label = label;
    else this.measures.push({ id, label, unit, baseline });
  }

  set(id: string, monitor: string, cell: Cell): void {
    let row = this.cells.get(id);
    if (!row) {
      row = new Map();
      this.cells.set(id, row);
    }
    row.set(monitor, cell);
    if (cell.base !== undefined && !this.baselines.has(id)) this.baselines.set(id, cell.base);
  }

  detail(line: string): void {
    this.details.push(line);
    console.log(`  ${line}`);
  }
}

const fmt = (unit: Unit, v: number) => (unit === 'ms' ? fmtMs(v) : fmtMB(v));

// ---- the run ---------------------------------------------------------------------------

const log = (msg: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${msg}`);

async function main(): Promise<void> {
  const t0 = performance.now();
  const opts = parseArgs(process.argv.slice(2));
  const loadStart = loadAverage();
  const gitVersion = git('/', ['version']).trim();
  const hyperfine = opts.hyperfine ? onPath('hyperfine') : null;
  const hyperfineVersion = hyperfine
    ? spawnSync(hyperfine, ['--version'], { encoding: 'utf8' }).stdout.trim()
    : 'not used';
  log(
    `git-fsmond bench, scale ${opts.scale.name} (${opts.scale.files} files); ${gitVersion}; node ${process.version}; ` +
      `${os.cpus().length} cores; ${hyperfineVersion}; load average ${loadStart}`,
  );

  const repo = await ensureRepo(opts.scale, opts.cacheDir, log);
  log(
    `repository ${repo.root}: ${repo.layout.files} files, ${repo.layout.dirs} directories, ` +
      (repo.generatedMs === null
        ? `reused from cache (verified in ${(repo.verifyMs / 1000).toFixed(1)} s)`
        : `generated in ${(repo.generatedMs / 1000).toFixed(1)} s`),
  );

  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'fsmond-bench-run-'));
  const results = new Results();
  const notes: string[] = [];
  const monitors: Monitor[] = [
    new FsmondMonitor({
      root: repo.root,
      gitDir: repo.gitDir,
      launcher: opts.launcher,
      threadpool: opts.threadpool,
      nodeOptions: opts.nodeOptions,
    }),
  ];
  if (opts.watchman) {
    const w = detectWatchman();
    if (w.ok) monitors.push(new WatchmanMonitor({ root: repo.root, scratch, ...w }));
    else notes.push(w.note);
  } else notes.push('Watchman: --no-watchman: skipped');
  if (opts.builtin) {
    const b = detectBuiltin(opts.builtinGit);
    if (b.ok) monitors.push(new BuiltinMonitor({ root: repo.root, gitDir: repo.gitDir, ...b }));
    else notes.push(b.note);
  } else notes.push('git builtin daemon: --no-builtin: skipped');
  for (const n of notes) log(n);

  const stopAll = async () => {
    for (const m of monitors) await m.stop().catch(() => {});
  };
  const onSignal = () => {
    void stopAll().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    await tinyBaseline(opts, scratch, results);
    for (const mon of monitors) {
      log(`== ${mon.name} (load average ${loadAverage()})`);
      const phaseStart = performance.now();
      await runPhase(mon, repo, opts, scratch, results);
      results.detail(
        `${mon.name}: phase took ${((performance.now() - phaseStart) / 1000).toFixed(1)} s`,
      );
      // The big answer touched files: bring the base index back for the next phase or run.
      await settleIndex(repo.root);
    }
  } finally {
    await stopAll();
    fs.rmSync(scratch, { recursive: true, force: true });
    for (const f of fs.readdirSync(repo.gitDir)) {
      if (f.startsWith('bench-index-')) fs.rmSync(path.join(repo.gitDir, f), { force: true });
    }
  }

  const totalS = (performance.now() - t0) / 1000;
  const loadEnd = loadAverage();
  printTable(opts, repo, monitors, results, notes, {
    gitVersion,
    hyperfineVersion,
    loadStart,
    loadEnd,
    totalS,
  });
  if (opts.json) {
    fs.writeFileSync(
      opts.json,
      `${JSON.stringify(
        {
          scale: opts.scale,
          files: repo.layout.files,
          dirs: repo.layout.dirs,
          gitVersion,
          loadStart,
          loadEnd,
          totalS,
          cells: Object.fromEntries([...results.cells].map(([k, v]) => [k, Object.fromEntries(v)])),
          raw: results.raw,
        },
        null,
        2,
      )}\n`,
    );
    log(`raw numbers written to ${opts.json}`);
  }
}

/** The fixed cost of the daemon: RSS and start on a 15-file repository. */
async function tinyBaseline(opts: Options, scratch: string, results: Results): Promise<void> {
  const tiny = await ensureRepo(parseScale('15'), path.join(scratch, 'tiny'), () => {});
  const mon = new FsmondMonitor({
    root: tiny.root,
    gitDir: tiny.gitDir,
    launcher: opts.launcher,
    threadpool: opts.threadpool,
    nodeOptions: opts.nodeOptions,
  });
  const starts: number[] = [];
  const rss: number[] = [];
  try {
    for (let i = 0; i < opts.startReps; i++) {
      starts.push((await mon.start()).incrementalMs);
      await sleep(500);
      rss.push(mon.memory()?.rss ?? Number.NaN);
      await mon.stop();
    }
  } finally {
    await mon.stop();
  }
  results.raw.tiny = { starts, rss };
  results.baselines.set('start', stats(starts).median);
  results.baselines.set('rss', stats(rss).median);
  results.baselines.set('rss.start', stats(rss).median);
  results.baselines.set('hwm', stats(rss).median);
}

async function runPhase(
  mon: Monitor,
  repo: SynthRepo,
  opts: Options,
  scratch: string,
  results: Results,
): Promise<void> {
  const raw: Record<string, unknown> = {};
  results.raw[mon.key] = raw;
  const layout = repo.layout;
  const abs = (j: number) => path.join(repo.root, layout.rel(j));

  // 1. Spawn to the first incremental answer; the last start stays up for the rest.
  const starts: StartTiming[] = [];
  for (let i = 0; i < opts.startReps; i++) {
    starts.push(await mon.start());
    log(`${mon.name}: start ${i + 1}: incremental answer after ${fmtMs(starts[i]!.incrementalMs)}`);
    if (i < opts.startReps - 1) await mon.stop();
  }
  raw.starts = starts;
  const st = (k: keyof StartTiming) => stats(starts.map((s) => s[k]));
  results.measure('start', 'start -> first incremental answer', 'ms', 'daemon on a 15-file repo');
  results.set('start', mon.key, { value: st('incrementalMs').median });
  results.detail(
    `${mon.name}: start (median of ${starts.length}): listening ${fmtMs(st('listenMs').median)}, ` +
      `first usable token ${fmtMs(st('firstAnswerMs').median)}, incremental ${fmtMs(st('incrementalMs').median)} ` +
      `(each: ${starts.map((s) => fmtMs(s.incrementalMs)).join(', ')})`,
  );
  await sleep(1000);
  const memAfterStart = mon.memory();
  raw.memAfterStart = memAfterStart;

  // 2. git status in three cases, against no fsmonitor with its own index.
  const baseIndex = path.join(repo.gitDir, 'index');
  const noneIndex = path.join(repo.gitDir, `bench-index-${mon.key}-none`);
  const monIndex = path.join(repo.gitDir, `bench-index-${mon.key}`);
  fs.copyFileSync(baseIndex, noneIndex);
  fs.copyFileSync(baseIndex, monIndex);
  const cmds: TimedCommand[] = [
    { name: 'none', args: mon.baselineArgs(noneIndex) },
    { name: mon.key, args: mon.statusArgs(monIndex) },
  ];
  const env = gitEnv();
  const runArgv = (argv: string[], extra: Record<string, string> = {}) => {
    const r = spawnSync(argv[0]!, argv.slice(1), {
      cwd: repo.root,
      env: { ...env, ...extra },
      encoding: 'latin1',
      maxBuffer: 1 << 30,
    });
    if (r.status !== 0) throw new Error(`${argv.join(' ')} failed: ${r.stderr}`);
    return r.stdout;
  };
  // git's own floor: the same status with a hook that costs nothing and reports nothing (only
  // right when nothing changed). What is left is git reading, refreshing and scanning its index.
  const floor: TimedCommand[] = [];
  if (mon instanceof FsmondMonitor) {
    const hook = path.join(scratch, 'noop-hook');
    fs.writeFileSync(hook, `#!/bin/sh\nprintf '%s\\0' "\${2:-noop}"\n`, { mode: 0o755 });
    const floorIndex = path.join(repo.gitDir, 'bench-index-noop');
    fs.copyFileSync(baseIndex, floorIndex);
    floor.push({
      name: 'noop',
      args: hookStatusArgs(floorIndex, hook),
    });
  }
  const settleIndexes = async () => {
    for (const c of [...cmds, ...floor]) runArgv(c.args);
    await sleep(1100);
    for (const c of [...cmds, ...floor]) runArgv(c.args);
  };
  await settleIndexes();

  const ten = layout.spread(10, 7);
  const tenRel = ten.map((j) => layout.rel(j));
  const cases: Array<{ id: string; label: string; prepare?: string[] }> = [
    { id: 'status.nochange', label: 'git status, no change' },
    {
      id: 'status.touched',
      label: 'git status, 10 files touched',
      prepare: ['touch', '-c', ...tenRel],
    },
    {
      id: 'status.modified',
      label: 'git status, 10 files modified',
      prepare: ['sh', '-c', `for f in ${tenRel.join(' ')}; do printf x >>"$f"; done`],
    },
  ];
  for (const c of cases) {
    const withFloor = c.id === 'status.nochange' && floor.length > 0;
    const r = timeCommands(withFloor ? [...cmds, ...floor] : cmds, {
      cwd: repo.root,
      env,
      runs: opts.runs,
      warmup: opts.warmup,
      prepare: c.prepare,
      hyperfine: opts.hyperfine,
      scratch,
      rounds: 3,
    });
    const base = stats(r.times.get('none')!);
    const ours = stats(r.times.get(mon.key)!);
    raw[c.id] = { method: r.method, none: r.times.get('none'), [mon.key]: r.times.get(mon.key) };
    results.measure(c.id, c.label, 'ms', 'git status without fsmonitor');
    results.set(c.id, mon.key, { value: ours.median, base: base.median });
    // The answers must agree: one more run of each, outside the timing.
    if (c.prepare) runArgv(c.prepare);
    const outNone = runArgv(cmds[0]!.args);
    const trace = path.join(scratch, 'trace2.txt');
    fs.rmSync(trace, { force: true });
    const outMon = runArgv(cmds[1]!.args, { GIT_TRACE2_PERF: trace });
    const where = fs.existsSync(trace) ? summarizeTrace(fs.readFileSync(trace, 'utf8')) : '';
    const agree = outNone === outMon;
    const lines = outMon === '' ? 0 : outMon.trimEnd().split('\n').length;
    results.detail(
      `${mon.name}: ${c.label}: median ${fmtMs(ours.median)} p95 ${fmtMs(ours.p95)}; ` +
        `none median ${fmtMs(base.median)} p95 ${fmtMs(base.p95)}; ${r.method}; ` +
        `${agree ? 'same output' : 'OUTPUTS DIFFER'} (${lines} lines)` +
        (r.bad.get(mon.key) ? `; ${r.bad.get(mon.key)} failed runs` : ''),
    );
    if (where)
      results.detail(`${mon.name}: ${c.label}: one traced run (GIT_TRACE2_PERF, ms): ${where}`);
    if (withFloor) {
      const f = stats(r.times.get('noop')!);
      const same = runArgv(floor[0]!.args) === outNone;
      results.measure(
        'status.noop',
        "git status, no change, no-op hook (git's floor)",
        'ms',
        'git status without fsmonitor',
      );
      results.set('status.noop', mon.key, { value: f.median, base: base.median });
      results.detail(
        `${mon.name}: git status with a no-op sh hook (git's own cost with a free fsmonitor): median ` +
          `${fmtMs(f.median)} p95 ${fmtMs(f.p95)}${same ? '' : ' (OUTPUT DIFFERS)'}`,
      );
    }
    if (c.id === 'status.modified') {
      for (const j of ten) fs.writeFileSync(abs(j), layout.content(j));
    }
    if (c.prepare) await settleIndexes();
  }
  raw.memAfterStatus = mon.memory();

  // 3. The hook round trip (what git spawns for every command), against spawning `true`.
  const first = await mon.query('');
  let token = (await mon.query(first.token)).token;
  const hook = mon.hookArgs(token);
  results.measure('hook', 'hook round trip, median', 'ms', 'spawn of `true`');
  results.measure('hook.p95', 'hook round trip, p95', 'ms', 'spawn of `true`');
  if (hook) {
    const r = timeCommands(
      [
        { name: 'true', args: [onPath('true') ?? '/bin/true'] },
        { name: 'hook', args: hook, check: (out) => (out.indexOf(0) > 0 ? null : 'no answer') },
      ],
      {
        cwd: repo.root,
        env,
        runs: opts.hookRuns,
        warmup: 10,
        hyperfine: opts.hyperfine,
        scratch,
        rounds: 3,
      },
    );
    const t = stats(r.times.get('true')!);
    const h = stats(r.times.get('hook')!);
    raw.hook = { method: r.method, true: r.times.get('true'), hook: r.times.get('hook') };
    results.set('hook', mon.key, { value: h.median, base: t.median });
    results.set('hook.p95', mon.key, { value: h.p95, base: t.p95 });
    results.detail(
      `${mon.name}: hook round trip: ${hook[0] === 'env' ? hook[2] : hook[0]}; ${r.method}`,
    );
  } else {
    results.set('hook', mon.key, { value: Number.NaN, text: 'no hook' });
    results.set('hook.p95', mon.key, { value: Number.NaN, text: 'no hook' });
  }

  // 4. Query latency without and with churn (one file rewritten every 20 ms).
  const serverSide = mon instanceof FsmondMonitor ? mon : null;
  const timedQueries = async (n: number) => {
    const client: number[] = [];
    const server: number[] = [];
    let trivial = 0;
    for (let i = 0; i < n; i++) {
      const q = await mon.query(token);
      token = q.token;
      client.push(q.ms);
      if (q.trivial) trivial++;
      if (serverSide) server.push(Number((await serverSide.status()).lastAnswerMs));
      await sleep(Math.random() * 10);
    }
    return { client: stats(client), server: stats(server), trivial, all: client };
  };
  const quiet = await timedQueries(opts.churnQueries);
  const churnFile = abs(layout.spread(1, layout.files >> 1)[0]!);
  const churner = spawn(
    process.execPath,
    [path.join(here, 'churn.js'), churnFile, String(opts.churnIntervalMs)],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let churnOut = '';
  churner.stdout.on('data', (d: Buffer) => {
    churnOut += d.toString();
  });
  const churnExit = new Promise<void>((r) => churner.once('close', () => r()));
  try {
    const t = Date.now();
    while (!churnOut.includes('ready') && Date.now() - t < 10_000) await sleep(5);
    await sleep(200);
    const busy = await timedQueries(opts.churnQueries);
    raw.queries = { quiet: quiet.all, churn: busy.all };
    results.measure('churn', 'query under churn, median', 'ms', 'same queries without churn');
    results.measure('churn.p95', 'query under churn, p95', 'ms', 'same queries without churn');
    results.set('churn', mon.key, { value: busy.client.median, base: quiet.client.median });
    results.set('churn.p95', mon.key, { value: busy.client.p95, base: quiet.client.p95 });
    churner.kill('SIGTERM');
    await churnExit;
    const writes = /writes (\d+)/.exec(churnOut)?.[1] ?? '?';
    results.detail(
      `${mon.name}: queries (${opts.churnQueries}, 0-10 ms apart): quiet median ${fmtMs(quiet.client.median)} ` +
        `p95 ${fmtMs(quiet.client.p95)} max ${fmtMs(quiet.client.max)}; churn median ${fmtMs(busy.client.median)} ` +
        `p95 ${fmtMs(busy.client.p95)} max ${fmtMs(busy.client.max)} (${writes} writes, ${busy.trivial} '/' answers)` +
        (serverSide
          ? `; daemon-side (lastAnswerMs) median ${fmtMs(quiet.server.median)} quiet, ${fmtMs(busy.server.median)} ` +
            `p95 ${fmtMs(busy.server.p95)} churn; client = in-process Node pkt-line client (src/ipc sendRequest)`
          : ''),
    );
  } finally {
    if (churner.exitCode === null) churner.kill('SIGKILL');
  }

  // 5. The answer for many changed paths.
  const n = Math.min(opts.changed, layout.files);
  const label = n === 100_000 ? '100k' : `${n}`;
  const changed = layout.spread(n, 3);
  const imm: QueryResult[] = [];
  const settled: QueryResult[] = [];
  const touchMs: number[] = [];
  const serverMs: number[] = [];
  const touch = () => {
    const t = performance.now();
    const now = new Date();
    for (const j of changed) fs.utimesSync(abs(j), now, now);
    touchMs.push(performance.now() - t);
  };
  for (let i = 0; i < opts.changedRounds; i++) {
    await mon.settle();
    token = (await mon.query(token)).token;
    touch();
    const a = await mon.query(token);
    imm.push(a);
    token = a.token;
    touch();
    await mon.settle();
    const b = await mon.query(token);
    settled.push(b);
    if (serverSide) serverMs.push(Number((await serverSide.status()).lastAnswerMs));
    token = b.token;
  }
  raw.changed = { n, touchMs, immediate: imm, settled, serverMs };
  const show = (qs: QueryResult[], id: string) => {
    const s = stats(qs.map((q) => q.ms));
    const trivial = qs.filter((q) => q.trivial).length;
    results.set(id, mon.key, {
      value: s.median,
      base: quiet.client.median,
      text: trivial === qs.length ? `/ ${fmtMs(s.median)}` : undefined,
    });
    return `median ${fmtMs(s.median)} (${qs.map((q) => `${fmtMs(q.ms)}${q.trivial ? ' /' : ''}`).join(', ')})`;
  };
  results.measure('answer', `answer, ${label} changed paths, right after`, 'ms', 'no-change query');
  results.measure(
    'answer.settled',
    `answer, ${label} changed paths, settled`,
    'ms',
    'no-change query',
  );
  const immText = show(imm, 'answer');
  const setText = show(settled, 'answer.settled');
  const sizes = [...imm, ...settled].filter((q) => !q.trivial);
  results.detail(
    `${mon.name}: ${label} changed paths (utimes, ${fmtMs(stats(touchMs).median)} to touch them): ` +
      `right after the touches ${immText}; after the daemon caught up ${setText}; ` +
      (sizes.length
        ? `answers of ${sizes[0]!.paths} paths, ${fmtMB(sizes[0]!.bytes)}`
        : 'every answer was / (trivial)') +
      (serverMs.length ? `; daemon-side (settled) median ${fmtMs(stats(serverMs).median)}` : '') +
      `; '/' = trivial answer`,
  );

  // 6. Memory at the end.
  const memEnd = mon.memory();
  raw.memEnd = memEnd;
  results.measure('rss.start', 'daemon RSS, 1 s after start', 'bytes', 'daemon on a 15-file repo');
  results.set('rss.start', mon.key, { value: memAfterStart?.rss ?? Number.NaN });
  results.measure('rss', 'daemon RSS, after the status runs', 'bytes', 'daemon on a 15-file repo');
  results.measure(
    'hwm',
    'daemon peak RSS (VmHWM), end of phase',
    'bytes',
    'daemon on a 15-file repo',
  );
  if (raw.memAfterStatus) {
    const m = raw.memAfterStatus as { rss: number };
    results.set('rss', mon.key, { value: m.rss });
  }
  results.set('hwm', mon.key, { value: memEnd?.hwm ?? Number.NaN });
  results.detail(
    `${mon.name}: RSS 1 s after start ${fmtMB(memAfterStart?.rss ?? Number.NaN)}, after the status runs ` +
      `${fmtMB((raw.memAfterStatus as { rss: number } | undefined)?.rss ?? Number.NaN)}, at the end ${fmtMB(memEnd?.rss ?? Number.NaN)}, ` +
      `peak ${fmtMB(memEnd?.hwm ?? Number.NaN)}`,
  );
  await mon.stop();
}

/** Where one traced git command spent its time: top-level trace2 regions, plus a few details. */
function summarizeTrace(text: string): string {
  const regions = new Map<string, number>();
  const data = new Map<string, string>();
  for (const line of text.split('\n')) {
    // `time file:line | d0 | main | event | r1 | t_abs | t_rel | category | label:... or key:value`
    const f = line.split('|').map((x) => x.trim());
    if (f.length < 9) continue;
    const what = f[8]!.replace(/^\.+/, '').split(' ')[0]!;
    if (f[3] === 'region_leave' && what.startsWith('label:')) {
      const key = `${f[7]}/${what.slice('label:'.length)}`;
      const t = Number(f[6]);
      if (Number.isFinite(t)) regions.set(key, (regions.get(key) ?? 0) + t * 1000);
    } else if (f[3] === 'data') {
      const colon = what.indexOf(':');
      if (colon > 0) data.set(`${f[7]}/${what.slice(0, colon)}`, what.slice(colon + 1));
    }
  }
  const parts: string[] = [];
  const add = (name: string, key: string, wrap = false) => {
    const v = regions.get(key);
    if (v !== undefined) parts.push(wrap ? `(${name} ${v.toFixed(1)})` : `${name} ${v.toFixed(1)}`);
  };
  add('read index', 'index/do_read_index');
  add('hook', 'fsm_hook/query');
  add('preload', 'index/preload');
  add('refresh', 'index/refresh');
  add('worktree diff', 'status/worktrees');
  add('index diff', 'status/index');
  add('untracked', 'status/untracked');
  add('of which name-hash-init', 'index/name-hash-init', true);
  add('write index', 'index/do_write_index');
  const d = (k: string) => data.get(k);
  const extra = [
    d('fsm_hook/response-length') && `hook answer ${d('fsm_hook/response-length')} bytes`,
    d('fsmonitor/apply_count') && `paths applied ${d('fsmonitor/apply_count')}`,
    d('read_directo/directory-invalidation') &&
      `untracked-cache invalidations ${d('read_directo/directory-invalidation')}`,
    d('read_directo/opendir') && `opendir ${d('read_directo/opendir')}`,
  ].filter(Boolean);
  return [...parts, ...extra].join(', ');
}

const ORDER = [
  'status.nochange',
  'status.noop',
  'status.touched',
  'status.modified',
  'hook',
  'hook.p95',
  'rss.start',
  'rss',
  'hwm',
  'start',
  'answer',
  'answer.settled',
  'churn',
  'churn.p95',
];

function printTable(
  opts: Options,
  repo: SynthRepo,
  monitors: Monitor[],
  results: Results,
  notes: string[],
  info: {
    gitVersion: string;
    hyperfineVersion: string;
    loadStart: string;
    loadEnd: string;
    totalS: number;
  },
): void {
  const head = ['measure', 'baseline', ''];
  head[2] = 'baseline is';
  for (const m of monitors) head.push(m.name, 'x base');
  head.push('target (git-fsmond)', 'result');
  const rows: string[][] = [];
  const order = ORDER.map((id) => results.measures.find((m) => m.id === id)).filter(
    (m) => m !== undefined,
  );
  for (const m of order) {
    const base = results.baselines.get(m.id) ?? Number.NaN;
    const row = [m.label, fmt(m.unit, base), m.baseline];
    const ours = results.cells.get(m.id)?.get('fsmond');
    for (const mon of monitors) {
      const c = results.cells.get(m.id)?.get(mon.key);
      if (!c) {
        row.push('n/a', '');
        continue;
      }
      row.push(c.text ?? fmt(m.unit, c.value), fmtRatio(c.value, c.base ?? base));
    }
    const target = targetFor(m.id, repo.layout.files);
    if (target && ours && Number.isFinite(ours.value)) {
      row.push(target.text, ours.value <= target.limit && !ours.text ? 'pass' : 'FAIL');
    } else row.push(target?.text ?? '', '');
    rows.push(row);
  }
  console.log('');
  console.log(
    `git-fsmond bench: ${repo.layout.files} files in ${repo.layout.dirs} directories (scale ${opts.scale.name}), ` +
      `${info.gitVersion}, node ${process.version}, ${os.cpus().length} cores, ${info.hyperfineVersion}`,
  );
  console.log(
    `load average (1/5/15 min) at start ${info.loadStart}, at end ${info.loadEnd}; run took ${info.totalS.toFixed(0)} s ` +
      `(repository ${repo.generatedMs === null ? 'reused from cache' : `generated in ${(repo.generatedMs / 1000).toFixed(1)} s`})`,
  );
  console.log(
    `daemon: ${opts.launcher ?? 'bin/git-fsmond'}, UV_THREADPOOL_SIZE ${opts.threadpool ?? "8 (bin/git-fsmond's default)"}` +
      (opts.nodeOptions ? `, NODE_OPTIONS ${opts.nodeOptions}` : '') +
      '; queries: in-process Node pkt-line client; hook: hooks/bin/fsmond-hook (C)',
  );
  console.log(renderTable(head, rows));
  console.log(
    'x base: value / baseline of the same run (status rows: each monitor against its own no-fsmonitor runs in the same ' +
      'hyperfine call). Targets are information only: the exit code never depends on them. Page cache warm.',
  );
  for (const m of monitors) for (const n of m.notes()) console.log(n);
  for (const n of notes) console.log(n);
  console.log('details:');
  for (const d of results.details) console.log(`  ${d}`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : e);
  process.exit(1);
});
