/**
 * Warm round trip of the hook shims: what every git command pays for fsmonitor.
 *
 *   node dist/bench/hook.js [--runs N] [--warmup N] [--launcher PATH] [--no-hyperfine]
 *
 * Starts the real daemon (bin/git-fsmond, or `--launcher`, run as `<launcher> daemon <root>`)
 * on a 15-file synthetic repository, then times `<shim> 2 <token>` with a token of its (a
 * no-change query) for the C shim and the Node shim, against a same-run baseline of spawning
 * `true`. Uses `hyperfine -N` when installed (unless --no-hyperfine), else its own spawnSync
 * loop (variants interleaved so that load drift hits all of them alike). Prints median, p95
 * and the difference from the baseline. Reports only: there is no pass/fail on timing.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { shimBuild } from '../src/cli/config.js';
import { fmtMs, loadAverage, onPath, renderTable, stats, timeCommands } from './measure.js';
import { C_SHIM, FsmondMonitor, NODE_SHIM, parseAnswer } from './monitor.js';
import { ensureRepo, gitEnv, parseScale } from './synth.js';

interface Options {
  runs: number;
  warmup: number;
  launcher: string | undefined;
  hyperfine: boolean;
}

const USAGE =
  'usage: node dist/bench/hook.js [--runs N] [--warmup N] [--launcher PATH] [--no-hyperfine]';

function parseArgs(argv: string[]): Options {
  const opts: Options = { runs: 300, warmup: 20, launcher: undefined, hyperfine: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--runs') opts.runs = Number(value());
    else if (a === '--warmup') opts.warmup = Number(value());
    else if (a === '--launcher') opts.launcher = path.resolve(value());
    else if (a === '--no-hyperfine') opts.hyperfine = false;
    else if (a === '--help' || a === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else throw new Error(`unknown argument ${a} (${USAGE})`);
  }
  if (
    !Number.isInteger(opts.runs) ||
    opts.runs < 1 ||
    !Number.isInteger(opts.warmup) ||
    opts.warmup < 0
  )
    throw new Error('bad --runs or --warmup (integers, runs >= 1)');
  return opts;
}

/** A valid answer from the daemon, not the shim's own `/` for "no daemon answered". */
function checkAnswer(stdout: Buffer): string | null {
  try {
    return parseAnswer(stdout).trivial ? 'trivial answer' : null;
  } catch (err) {
    return (err as Error).message;
  }
}

const signed = (ms: number) => `${ms < 0 ? '-' : '+'}${fmtMs(Math.abs(ms))}`;

async function main(): Promise<void> {
  let opts: Options;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`bench/hook: ${(err as Error).message}`);
    process.exit(2);
  }
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'fsmond-bench-hook-'));
  const repo = await ensureRepo(parseScale('15'), scratch, () => {});
  const daemon = new FsmondMonitor({
    root: repo.root,
    gitDir: repo.gitDir,
    launcher: opts.launcher,
  });
  const env = gitEnv();
  try {
    console.log(`repo ${repo.root}; daemon ${opts.launcher ?? 'bin/git-fsmond'}`);
    const start = await daemon.start();
    console.log(`daemon answering incrementally after ${fmtMs(start.incrementalMs)}`);
    const hasC = fs.existsSync(C_SHIM);
    const built = shimBuild();
    if (hasC) console.log(`C shim built with ${built ? `${built.compiler} (${built.libc})` : '?'}`);
    const token = (await daemon.query((await daemon.query('')).token)).token;
    console.log(`token ${token}`);

    const variants = [{ name: 'true (baseline)', args: [onPath('true') ?? '/bin/true'] }];
    if (hasC) variants.push({ name: 'C shim', args: [C_SHIM, '2', token] });
    else console.log(`no C shim at ${C_SHIM} (run npm run build): skipped`);
    variants.push({ name: 'Node shim', args: [NODE_SHIM, '2', token] });
    // What the Node shim cannot go below: its shebang's env + node start-up, doing nothing.
    variants.push({
      name: 'node -e 0 (reference)',
      args: [
        onPath('env') ?? '/usr/bin/env',
        '-u',
        'NODE_EXTRA_CA_CERTS',
        process.execPath,
        '-e',
        '0',
      ],
    });
    const shims = variants.filter((v) => v.args[0] === C_SHIM || v.args[0] === NODE_SHIM);
    // Every shim must really get the daemon's answer before its time means anything.
    for (const v of shims) {
      const r = spawnSync(v.args[0]!, v.args.slice(1), { cwd: repo.root, env });
      const problem = r.status !== 0 ? `exit ${r.status}` : checkAnswer(r.stdout);
      if (problem) throw new Error(`${v.name}: ${problem}`);
    }

    const loadBefore = loadAverage();
    const r = timeCommands(
      variants.map((v) => ({ ...v, check: shims.includes(v) ? checkAnswer : undefined })),
      {
        cwd: repo.root,
        env,
        runs: opts.runs,
        warmup: opts.warmup,
        hyperfine: opts.hyperfine,
        scratch,
      },
    );
    console.log(`method: ${r.method}; load average ${loadBefore} -> ${loadAverage()}`);
    const base = stats(r.times.get(variants[0]!.name)!);
    const rows = variants.map((v, i) => {
      const s = stats(r.times.get(v.name)!);
      return [
        v.name,
        fmtMs(s.median),
        fmtMs(s.p95),
        i === 0 ? '' : signed(s.median - base.median),
        i === 0 ? '' : signed(s.p95 - base.p95),
        r.method.startsWith('hyperfine') ? 'n/a' : String(r.bad.get(v.name) ?? 0),
      ];
    });
    console.log(
      renderTable(['variant', 'median', 'p95', 'median - true', 'p95 - true', 'bad answers'], rows),
    );
  } finally {
    await daemon.stop();
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
