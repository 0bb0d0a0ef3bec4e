/**
 * Warm round trip of the hook shims: what every git command pays for fsmonitor.
 *
 *   node dist/bench/hook.js [--runs N] [--warmup N] [--launcher PATH] [--no-hyperfine]
 *
 * Starts a daemon for a temporary repo (the stand-in test/helpers/hook-fixture-daemon.ts by
 * default; `--launcher bin/git-fsmond` for the real one, run as `<launcher> daemon <root>`),
 * warms it, then times `<shim> 2 <token>` with the daemon's current token (a no-change
 * query) for the C shim and the Node shim, against a same-run baseline of spawning `true`.
 * Uses `hyperfine -N` when installed (unless --no-hyperfine), else its own spawnSync loop (variants interleaved so
 * that load drift hits all of them alike). Prints median, p95 and the difference from the
 * baseline. Reports only: there is no pass/fail on timing.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { shimBuild } from '../src/cli/config.js';
import { REQUEST } from '../src/contract/index.js';
import {
  C_SHIM,
  makeLayoutRepo,
  NODE_SHIM,
  pkt,
  SOCK_NAME,
  socketLive,
  UNAVAILABLE,
  writeLauncher,
} from '../test/helpers/hook-harness.js';
import { scratchDir } from '../test/helpers/scratch.js';
import { waitFor } from '../test/helpers/wait.js';
import { onPath, stats, timeCommands } from './measure.js';

interface Options {
  runs: number;
  warmup: number;
  launcher: string | null;
  hyperfine: boolean;
}

function parseArgs(argv: string[]): Options {
  const opts: Options = { runs: 300, warmup: 20, launcher: null, hyperfine: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--runs') opts.runs = Number.parseInt(value(), 10);
    else if (a === '--warmup') opts.warmup = Number.parseInt(value(), 10);
    else if (a === '--launcher') opts.launcher = path.resolve(value());
    else if (a === '--no-hyperfine') opts.hyperfine = false;
    else if (a === '--help' || a === '-h') {
      console.log(
        'usage: node dist/bench/hook.js [--runs N] [--warmup N] [--launcher PATH] [--no-hyperfine]',
      );
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  if (!(opts.runs >= 1) || !(opts.warmup >= 0)) throw new Error('bad --runs or --warmup');
  return opts;
}

interface Variant {
  name: string;
  cmd: string;
  args: string[];
  /** Checks one output; null = fine. */
  check: ((stdout: Buffer) => string | null) | null;
}

function checkAnswer(stdout: Buffer): string | null {
  const text = stdout.toString('latin1');
  if (UNAVAILABLE.test(text)) return 'unavailable answer';
  if (text.indexOf('\0') <= 0) return `invalid answer ${JSON.stringify(text.slice(0, 80))}`;
  return null;
}

const signed = (ms: number) => `${ms < 0 ? '-' : '+'}${Math.abs(ms).toFixed(2)}`;

function sendQuit(gitdir: string): Promise<void> {
  return new Promise((resolve) => {
    const cwd = process.cwd();
    process.chdir(gitdir); // the relative name is never too long (docs/linux-watching.md#t12)
    let s: net.Socket;
    try {
      s = net.connect(SOCK_NAME);
    } finally {
      process.chdir(cwd);
    }
    s.on('connect', () => s.end(Buffer.concat([pkt(REQUEST.quit), Buffer.from('0000')])));
    s.on('error', () => resolve());
    s.on('close', () => resolve());
    s.resume();
  });
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const base = scratchDir('fsmond-bench-hook-');
  const repo = makeLayoutRepo(base, { git: true });
  const launcher = opts.launcher ?? writeLauncher(base, { paths: [], idleExitMs: 600_000 }).path;
  const env: NodeJS.ProcessEnv = { ...process.env, GIT_FSMOND_LAUNCHER: launcher };
  delete env.GIT_DIR;
  delete env.GIT_FSMOND_HOOK_TIMEOUT_MS;
  const daemonEnv = { ...env };
  delete daemonEnv.NODE_EXTRA_CA_CERTS;

  try {
    console.log(`repo ${repo.root}`);
    console.log(`daemon: ${opts.launcher ?? 'stand-in (test/helpers/hook-fixture-daemon)'}`);
    spawn(launcher, ['daemon', repo.root], {
      detached: true,
      stdio: 'ignore',
      cwd: '/',
      env: daemonEnv,
    }).unref();
    const t0 = performance.now();
    await waitFor('the daemon to listen', async () =>
      (await socketLive(repo)) ? true : undefined,
    );
    console.log(`daemon listening after ${(performance.now() - t0).toFixed(0)} ms`);

    const hasC = fs.existsSync(C_SHIM);
    const built = shimBuild();
    if (hasC) console.log(`C shim built with ${built ? `${built.compiler} (${built.libc})` : '?'}`);
    const first = spawnSync(hasC ? C_SHIM : NODE_SHIM, ['2', ''], { cwd: repo.root, env });
    const bad = checkAnswer(first.stdout);
    if (first.status !== 0 || bad) throw new Error(`first query failed: ${bad ?? first.status}`);
    const token = first.stdout.toString('latin1', 0, first.stdout.indexOf(0));
    console.log(`token ${token}`);

    const truePath = onPath('true') ?? '/bin/true';
    const variants: Variant[] = [{ name: 'true (baseline)', cmd: truePath, args: [], check: null }];
    if (hasC)
      variants.push({ name: 'C shim', cmd: C_SHIM, args: ['2', token], check: checkAnswer });
    else console.log(`no C shim at ${C_SHIM} (run npm run build): skipped`);
    variants.push({ name: 'Node shim', cmd: NODE_SHIM, args: ['2', token], check: checkAnswer });
    // What the Node shim cannot go below: its shebang's env + node start-up, doing nothing.
    variants.push({
      name: 'node -e 0 (reference)',
      cmd: onPath('env') ?? '/usr/bin/env',
      args: ['-u', 'NODE_EXTRA_CA_CERTS', process.execPath, '-e', '0'],
      check: null,
    });

    // Warm up, and check that every shim really gets a valid answer.
    for (const v of variants) {
      for (let i = 0; i < Math.max(1, opts.warmup); i++) {
        const r = spawnSync(v.cmd, v.args, { cwd: repo.root, env });
        const problem = r.status !== 0 ? `exit ${r.status}` : v.check?.(r.stdout);
        if (problem) throw new Error(`${v.name}: ${problem}`);
      }
    }

    const load = os.loadavg()[0].toFixed(1);
    const r = timeCommands(
      variants.map((v) => ({
        name: v.name,
        args: [v.cmd, ...v.args],
        check: v.check ?? undefined,
      })),
      {
        cwd: repo.root,
        env,
        runs: opts.runs,
        warmup: 10,
        hyperfine: opts.hyperfine,
        scratch: base,
      },
    );
    const hyperfine = r.method.startsWith('hyperfine');
    const times = r.times;
    const failures = r.bad;
    console.log(`method: ${r.method}`);
    const loadAfter = os.loadavg()[0].toFixed(1);
    console.log(
      `load average ${load} -> ${loadAfter}; NODE_EXTRA_CA_CERTS ${
        process.env.NODE_EXTRA_CA_CERTS ? 'set (the Node shim drops it in its shebang)' : 'unset'
      }`,
    );

    const baseline = stats(times.get(variants[0].name) ?? [0]);
    const rows = variants.map((v) => {
      const s = stats(times.get(v.name) ?? [0]);
      return [
        v.name,
        s.median.toFixed(2),
        s.p95.toFixed(2),
        v === variants[0] ? '' : signed(s.median - baseline.median),
        v === variants[0] ? '' : signed(s.p95 - baseline.p95),
        hyperfine ? 'n/a' : String(failures.get(v.name) ?? 0),
      ];
    });
    const head = ['variant', 'median ms', 'p95 ms', 'median - true', 'p95 - true', 'bad answers'];
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    for (const r of [head, ...rows]) {
      console.log(
        r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  '),
      );
    }
  } finally {
    await sendQuit(repo.gitdir);
    fs.rmSync(base, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
