/**
 * Shared pieces of the benchmarks: timing commands (hyperfine when installed, else an
 * interleaved spawnSync loop), statistics, process memory, load average and the result table.
 */
import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function onPath(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const file = path.join(dir || '.', name);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      if (fs.statSync(file).isFile()) return file;
    } catch {
      // not here
    }
  }
  return null;
}

export interface Stats {
  n: number;
  median: number;
  p95: number;
  mean: number;
  min: number;
  max: number;
}

export function stats(values: number[]): Stats {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0)
    return {
      n: 0,
      median: Number.NaN,
      p95: Number.NaN,
      mean: Number.NaN,
      min: Number.NaN,
      max: Number.NaN,
    };
  const at = (q: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  return { n: s.length, median: at(0.5), p95: at(0.95), mean, min: s[0]!, max: s[s.length - 1]! };
}

/** One command to time. `args[0]` is the program; no shell is involved. */
export interface TimedCommand {
  name: string;
  args: string[];
  /** Checks one run's stdout (fallback loop only); null = fine. */
  check?: (stdout: Buffer) => string | null;
}

export interface TimeOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  runs: number;
  warmup: number;
  /** Run before every run (timed or warm-up) of every command, untimed. argv, no shell. */
  prepare?: string[];
  /** Use hyperfine -N when it is on PATH. */
  hyperfine: boolean;
  /** Scratch directory for hyperfine's JSON export. */
  scratch: string;
  /**
   * hyperfine runs each command's runs in a row; on a shared machine load drifts in between.
   * With rounds > 1 the runs are split into that many hyperfine calls, the command order
   * rotating from one to the next (warm-up in full in the first, one run in the others).
   */
  rounds?: number;
}

export interface TimeResult {
  method: string;
  times: Map<string, number[]>;
  /** Runs whose output failed `check` (fallback loop only; hyperfine cannot check). */
  bad: Map<string, number>;
}

/** Quotes one argument for hyperfine's shell-words splitting (and for sh alike). */
export function shQuote(a: string): string {
  return /^[A-Za-z0-9_./=:,@%+-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}

/**
 * Times every command: `hyperfine -N` (each command's runs in a row, as hyperfine does) or,
 * without it, a spawnSync loop that interleaves the commands so that load drift hits all alike.
 */
export function timeCommands(cmds: TimedCommand[], opts: TimeOptions): TimeResult {
  const hyperfine = opts.hyperfine ? onPath('hyperfine') : null;
  const times = new Map<string, number[]>();
  const bad = new Map<string, number>();
  for (const c of cmds) {
    times.set(c.name, []);
    bad.set(c.name, 0);
  }
  if (hyperfine) {
    const rounds = Math.max(1, Math.min(opts.rounds ?? 1, opts.runs));
    for (let round = 0; round < rounds; round++) {
      const runs = Math.floor(opts.runs / rounds) + (round < opts.runs % rounds ? 1 : 0);
      const order = cmds.map((_, i) => cmds[(i + round) % cmds.length]!);
      const json = path.join(opts.scratch, `hyperfine-${process.pid}-${Date.now()}.json`);
      const warmup = round === 0 ? opts.warmup : Math.min(1, opts.warmup);
      const args = ['-N', '--style', 'none', '--warmup', String(warmup), '--runs', String(runs)];
      args.push('--export-json', json);
      if (opts.prepare) args.push('--prepare', opts.prepare.map(shQuote).join(' '));
      for (const c of order) args.push('--command-name', c.name);
      for (const c of order) args.push(c.args.map(shQuote).join(' '));
      const r = spawnSync(hyperfine, args, {
        cwd: opts.cwd,
        env: opts.env,
        stdio: ['ignore', 'ignore', 'pipe'],
        encoding: 'utf8',
      });
      if (r.status !== 0) throw new Error(`hyperfine failed (exit ${r.status}): ${r.stderr}`);
      const out = JSON.parse(fs.readFileSync(json, 'utf8')) as { results: { times: number[] }[] };
      fs.rmSync(json, { force: true });
      order.forEach((c, i) => {
        times.get(c.name)!.push(...out.results[i]!.times.map((t) => t * 1000));
      });
    }
    const how = rounds > 1 ? ` in ${rounds} rounds, order rotated` : '';
    return { method: `hyperfine -N, ${opts.warmup} warm-up + ${opts.runs} runs${how}`, times, bad };
  }
  const runOne = (c: TimedCommand, timed: boolean) => {
    if (opts.prepare) {
      const p = spawnSync(opts.prepare[0]!, opts.prepare.slice(1), {
        cwd: opts.cwd,
        env: opts.env,
        stdio: 'ignore',
      });
      if (p.status !== 0) throw new Error(`prepare command failed: ${opts.prepare.join(' ')}`);
    }
    const start = process.hrtime.bigint();
    const r = spawnSync(c.args[0]!, c.args.slice(1), {
      cwd: opts.cwd,
      env: opts.env,
      stdio: ['ignore', 'pipe', 'ignore'],
      maxBuffer: 1 << 30,
    });
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (!timed) return;
    times.get(c.name)!.push(ms);
    if (r.status !== 0 || (c.check && r.stdout && c.check(r.stdout))) {
      bad.set(c.name, (bad.get(c.name) ?? 0) + 1);
    }
  };
  for (let i = 0; i < opts.warmup; i++) for (const c of cmds) runOne(c, false);
  for (let i = 0; i < opts.runs; i++) {
    for (let j = 0; j < cmds.length; j++) runOne(cmds[(i + j) % cmds.length]!, true);
  }
  return {
    method: `spawnSync loop, ${opts.warmup} warm-up + ${opts.runs} runs, interleaved`,
    times,
    bad,
  };
}

/** VmRSS and VmHWM (peak) of a live process, in bytes; null when it is gone. */
export function procMemory(pid: number): { rss: number; hwm: number } | null {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  const kb = (key: string) => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text);
    return m ? Number(m[1]) * 1024 : Number.NaN;
  };
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

export function loadAverage(): string {
  return os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
}

export const fmtMs = (ms: number) =>
  Number.isNaN(ms)
    ? 'n/a'
    : ms >= 1000
      ? `${(ms / 1000).toFixed(2)} s`
      : `${ms.toFixed(ms < 10 ? 2 : 1)} ms`;
export const fmtMB = (bytes: number) =>
  Number.isNaN(bytes) ? 'n/a' : `${(bytes / 1e6).toFixed(1)} MB`;
export const fmtRatio = (x: number, base: number) =>
  Number.isFinite(x) && Number.isFinite(base) && base > 0 ? `${(x / base).toFixed(2)}x` : '';

/** Left-aligned first column, right-aligned others. */
export function renderTable(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => (i === 0 ? (c ?? '').padEnd(widths[i]!) : (c ?? '').padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  const sep = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(head), sep, ...rows.map(line)].join('\n');
}

/** Runs a command asynchronously, output ignored, failures ignored; resolves when it ends. */
export function runQuietly(
  cmd: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
  timeoutMs = 20_000,
): Promise<void> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, env, timeout: timeoutMs }, () => resolve());
  });
}
