/**
 * Benchmarks at scale: `npm run bench` (100k files), `npm run bench -- --scale 1m`.
 *
 * In one run, against baselines of the same run: `git status --porcelain` in every mode
 * (bench/modes.ts: no monitor, git's builtin daemon, git-fsmond over the socket and through
 * its shim with each git, Watchman with git's sample hook) in three cases, the same on a small
 * repository, and for each daemon its start to the first incremental answer, RSS, hook round
 * trip, query latency under churn and the answer for many changed paths (bench/daemons.ts).
 * git-fsmond watches one copy of the synthetic repository, git's builtin daemon and Watchman
 * another, so that every mode runs in the same timed calls (the two IPC daemons need the same
 * socket name). Targets are printed as information: the exit code never depends on timings.
 *
 * See bench/README.md for the options.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BuiltinMonitor } from './builtin.js';
import type { Context } from './context.js';
import {
  compareStarts,
  type Fixed,
  measureAnswer,
  measureChurn,
  measureHooks,
  measureStarts,
  recordMemory,
  recordStart,
} from './daemons.js';
import { enableAsUser } from './enabled.js';
import { findGit255, type GitBin, gitLabel, probeGit } from './gits.js';
import { inotifyShortfall } from './inotify-budget.js';
import { loadAverage, onPath, sleep } from './measure.js';
import { listModes, type Mode, resetIndexes, writeNoopHook } from './modes.js';
import { FsmondMonitor, type Monitor } from './monitor.js';
import { type Options, parseArgs } from './options.js';
import { daemonTable, Results, statusTable } from './report.js';
import { measureStatus, settleIndexes, statusCases } from './status.js';
import {
  ensureRepo,
  gitEnv,
  parseScale,
  removeBenchIndexes,
  type SynthRepo,
  settleIndex,
} from './synth.js';
import { detectWatchman, WatchmanMonitor } from './watchman.js';

const log = (msg: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${msg}`);

/** Files changed by the touched and modified status cases. */
const CHANGED_FILES = 10;

interface Setup {
  gits: GitBin[];
  git255: GitBin | undefined;
  watchman: ReturnType<typeof detectWatchman>;
  notes: string[];
}

function detect(opts: Options): Setup {
  const onPathGit = onPath('git');
  const system = onPathGit ? probeGit(onPathGit) : null;
  if (!system) throw new Error('no working git on PATH');
  const notes: string[] = [];
  const found = findGit255(opts.git255, system);
  const git255 = found.ok ? found.git : undefined;
  if (!found.ok) notes.push(`git >= 2.55: ${found.note}: no builtin daemon and no socket modes`);
  const gits = git255 && git255.version !== system.version ? [system, git255] : [system];
  const watchman = opts.watchman
    ? detectWatchman()
    : ({ ok: false, note: 'Watchman: --no-watchman: skipped' } as const);
  if (!watchman.ok) notes.push(watchman.note);
  if (!opts.builtin) notes.push('git builtin daemon: --no-builtin: skipped');
  return { gits, git255, watchman, notes };
}

/** git-fsmond on `a`; git's builtin daemon and Watchman on `b` (they need no socket of ours). */
function monitorsFor(
  opts: Options,
  setup: Setup,
  scratch: string,
  a: SynthRepo,
  b: SynthRepo | null,
): Monitor[] {
  const monitors: Monitor[] = [
    new FsmondMonitor({
      root: a.root,
      gitDir: a.gitDir,
      launcher: opts.launcher,
      threadpool: opts.threadpool,
      nodeOptions: opts.nodeOptions,
    }),
  ];
  if (!b) return monitors;
  if (opts.builtin && setup.git255) {
    monitors.push(new BuiltinMonitor({ root: b.root, gitDir: b.gitDir, git: setup.git255 }));
  }
  if (setup.watchman.ok)
    monitors.push(new WatchmanMonitor({ root: b.root, scratch, ...setup.watchman }));
  return monitors;
}

/** How many daemons monitorsFor makes for the large repository (without making them). */
const daemonCount = (opts: Options, setup: Setup) =>
  1 + (opts.builtin && setup.git255 ? 1 : 0) + (setup.watchman.ok ? 1 : 0);

const needsSecondRepo = (opts: Options, setup: Setup) =>
  (opts.builtin && !!setup.git255) || setup.watchman.ok;

async function startAll(ctx: Context, monitors: Monitor[], live: Set<Monitor>, reps: number) {
  for (const mon of monitors) live.add(mon);
  const starts = await measureStarts(ctx, monitors, reps);
  await sleep(1000);
  return starts;
}

async function stopAll(monitors: Iterable<Monitor>): Promise<void> {
  for (const m of monitors) await m.stop().catch(() => {});
}

/** The small repository: status with and without each monitor, and each daemon's fixed cost. */
async function smallRepository(
  ctx: Context,
  setup: Setup,
  live: Set<Monitor>,
): Promise<{ fixed: Map<string, Fixed>; modes: Mode[] }> {
  const { opts } = ctx;
  const scale = parseScale(String(opts.smallFiles));
  const dir = path.join(ctx.scratch, 'small');
  const a = await ensureRepo(scale, dir, () => {});
  const b = needsSecondRepo(opts, setup) ? await ensureRepo(scale, dir, () => {}, 'repo-b') : null;
  const monitors = monitorsFor(opts, setup, ctx.scratch, a, b);
  const fixed = new Map<string, Fixed>();
  let modes: Mode[] = [];
  let undo = () => {};
  try {
    const starts = await startAll(ctx, monitors, live, 1);
    for (const mon of monitors) {
      fixed.set(mon.key, { start: starts.get(mon.key)!, rss: mon.memory?.()?.rss ?? Number.NaN });
    }
    const enabled = enableAsUser(ctx, a.root, setup.gits);
    undo = enabled.undo;
    ctx.results.details.push(`small repository, \`git fsmond enable\`: ${enabled.verdict}`);
    modes = [
      ...listModes(setup.gits, setup.git255, monitors, a.root, writeNoopHook(ctx.scratch)),
      ...enabled.modes,
    ];
    resetIndexes(modes);
    await settleIndexes(ctx, modes);
    ctx.log(`status on the ${scale.files}-file repository (load average ${loadAverage()})`);
    const c = await measureStatus(
      ctx,
      { id: 'small.nochange', label: `git status, no change, ${scale.files}-file repository` },
      modes,
    );
    ctx.results.status.push(c);
    ctx.results.raw.smallModes = modes.map((m) => m.key);
  } finally {
    // The monitors stop even when the disable fails (its error then ends the run).
    try {
      undo();
    } finally {
      await stopAll(monitors);
      for (const m of monitors) live.delete(m);
    }
  }
  return { fixed, modes };
}

async function largeRepository(
  ctx: Context,
  setup: Setup,
  repos: SynthRepo[],
  fixed: Map<string, Fixed>,
  live: Set<Monitor>,
): Promise<{ monitors: Monitor[]; modes: Mode[] }> {
  const { opts } = ctx;
  const [a, b] = repos as [SynthRepo, SynthRepo | undefined];
  const monitors = monitorsFor(opts, setup, ctx.scratch, a, b ?? null);
  const only = opts.only;
  const starts = await startAll(ctx, monitors, live, only.has('start') ? opts.startReps : 1);
  for (const mon of monitors) {
    if (only.has('start')) recordStart(ctx, mon, starts.get(mon.key)!, fixed.get(mon.key));
    if (only.has('rss')) recordMemory(ctx, mon, 'rss.start', fixed.get(mon.key));
  }
  if (only.has('start')) compareStarts(ctx, starts);
  let modes: Mode[] = [];
  if (only.has('status')) {
    modes = listModes(setup.gits, setup.git255, monitors, a.root, writeNoopHook(ctx.scratch));
    resetIndexes(modes);
    await settleIndexes(ctx, modes);
    for (const spec of statusCases(repos, CHANGED_FILES)) {
      ctx.log(`${spec.label}: ${modes.length} modes (load average ${loadAverage()})`);
      ctx.results.status.push(await measureStatus(ctx, spec, modes));
    }
    if (only.has('rss'))
      for (const mon of monitors) recordMemory(ctx, mon, 'rss', fixed.get(mon.key));
  }
  if (only.has('hook')) {
    ctx.log(`hook round trips (load average ${loadAverage()})`);
    await measureHooks(ctx, monitors);
  }
  for (const mon of monitors) {
    if (only.has('churn')) {
      ctx.log(`${mon.name}: queries under churn`);
      await measureChurn(ctx, mon, a.layout);
    }
    if (only.has('answer')) {
      ctx.log(`${mon.name}: the answer for many changed paths`);
      await measureAnswer(ctx, mon, a.layout);
    }
  }
  if (only.has('rss'))
    for (const mon of monitors) recordMemory(ctx, mon, 'hwm', fixed.get(mon.key));
  await stopAll(monitors);
  // The big answer touched files: bring the base indexes back for the next run.
  if (only.has('answer')) for (const r of repos) await settleIndex(r.root);
  return { monitors, modes };
}

async function main(): Promise<void> {
  const t0 = performance.now();
  let opts: Options;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`bench: ${(err as Error).message}`);
    process.exit(2);
  }
  const setup = detect(opts);
  const hyperfine = opts.hyperfine ? onPath('hyperfine') : null;
  const hyperfineVersion = hyperfine
    ? spawnSync(hyperfine, ['--version'], { encoding: 'utf8' }).stdout.trim()
    : 'no hyperfine';
  const loadStart = loadAverage();
  const versions = setup.gits.map(gitLabel).join(' and ');
  log(
    `git-fsmond bench, scale ${opts.scale.name} (${opts.scale.files} files); ${versions}; node ${process.version}; ` +
      `${os.cpus().length} cores; ${hyperfineVersion}; load average ${loadStart}`,
  );
  for (const n of setup.notes) log(n);
  const repos = [await ensureRepo(opts.scale, opts.cacheDir, log)];
  if (needsSecondRepo(opts, setup))
    repos.push(await ensureRepo(opts.scale, opts.cacheDir, log, 'repo-b'));
  for (const r of repos) {
    log(
      `repository ${r.root}: ${r.layout.files} files, ${r.layout.dirs} directories, ` +
        (r.generatedMs === null
          ? 'reused from cache'
          : `generated in ${(r.generatedMs / 1000).toFixed(1)} s`),
    );
  }

  const shortfall = inotifyShortfall(repos[0]!.layout.dirs, daemonCount(opts, setup));
  if (shortfall) {
    console.error(`bench: ${shortfall}`);
    process.exit(2);
  }

  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'fsmond-bench-run-'));
  const ctx: Context = { opts, scratch, env: gitEnv(), results: new Results(), log };
  const live = new Set<Monitor>();
  const onSignal = () => {
    void stopAll(live).finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let large: { monitors: Monitor[]; modes: Mode[] };
  let small: Mode[];
  try {
    const s = opts.only.has('small')
      ? await smallRepository(ctx, setup, live)
      : { fixed: new Map<string, Fixed>(), modes: [] };
    small = s.modes;
    large = await largeRepository(ctx, setup, repos, s.fixed, live);
  } finally {
    await stopAll(live);
    fs.rmSync(scratch, { recursive: true, force: true });
    for (const r of repos) removeBenchIndexes(r.root);
  }

  const totalS = (performance.now() - t0) / 1000;
  const { layout } = repos[0]!;
  console.log('');
  console.log(
    `git-fsmond bench: ${layout.files} files in ${layout.dirs} directories (scale ${opts.scale.name}), ${versions}, ` +
      `node ${process.version}, ${os.cpus().length} cores, ${hyperfineVersion}`,
  );
  console.log(
    `load average (1/5/15 min) at start ${loadStart}, at end ${loadAverage()}; run took ${totalS.toFixed(0)} s`,
  );
  console.log(
    `daemon: ${opts.launcher ?? 'bin/git-fsmond'}, UV_THREADPOOL_SIZE ${opts.threadpool ?? "8 (bin/git-fsmond's default)"}` +
      (opts.nodeOptions ? `, NODE_OPTIONS ${opts.nodeOptions}` : '') +
      '; queries: in-process Node pkt-line client; git-fsmond hook: hooks/bin/fsmond-hook (C)',
  );
  for (const c of ctx.results.status) {
    console.log('');
    const isSmall = c.id.startsWith('small.');
    console.log(statusTable(c, isSmall ? small : large.modes, isSmall ? 0 : layout.files));
  }
  console.log('');
  console.log(daemonTable(ctx.results, large.monitors, layout.files));
  console.log(
    'x builtin, x none: median / median of git builtin, of no monitor with the same git (same timed calls). ' +
      'x base: value / its baseline (same run). Targets are information only. Page cache warm.',
  );
  for (const m of large.monitors) for (const n of m.notes()) console.log(n);
  for (const n of setup.notes) console.log(n);
  console.log('details:');
  for (const d of ctx.results.details) console.log(`  ${d}`);
  if (opts.json) {
    const status = ctx.results.status.map((c) => ({ ...c, cells: Object.fromEntries(c.cells) }));
    const daemon = ctx.results.daemon.map((m) => ({ ...m, cells: Object.fromEntries(m.cells) }));
    const out = {
      scale: opts.scale,
      files: layout.files,
      dirs: layout.dirs,
      gits: setup.gits,
      totalS,
      status,
      daemon,
      raw: ctx.results.raw,
    };
    fs.writeFileSync(opts.json, `${JSON.stringify(out, null, 2)}\n`);
    log(`raw numbers written to ${opts.json}`);
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : e);
  process.exit(1);
});
