/**
 * The daemon's memory on a synthetic repository (bench/synth.ts), against a bare `node` process
 * measured in the same run: the daemon is started as the shims start it (`bin/git-fsmond
 * daemon <root>`, NODE_OPTIONS with the contract's DAEMON_NODE_OPTION added), then VmRSS/VmHWM are read from /proc after it is watching, after --queries
 * token queries with no change, and after one query answering --changes changed paths.
 *   node dist/bench/memory.js [--scale 100k] [--cache-dir DIR] [--queries 20] [--changes 100000]
 *                             [--rounds 1] [--node-options '--flag ...' ...] [--launcher BIN ...]
 * Each --node-options value (more NODE_OPTIONS for the daemon; '' = none) and each --launcher (the
 * bin/git-fsmond of another checkout, say main's, as a baseline) makes more variants, run
 * interleaved --rounds times. Information only: the exit code never depends on
 * the figures.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { LAUNCHER } from '../src/cli/common.js';
import { daemonNodeOptions, REQUEST, socketPathFor } from '../src/contract/index.js';
import { sendRequest } from '../src/ipc/index.js';
import { loadAverage, procMemory, sleep } from './measure.js';
import { defaultCacheDir, ensureRepo, gitEnv, parseScale, type SynthRepo } from './synth.js';

function argValues(name: string): string[] {
  const out: string[] = [];
  for (let i = 2; i < process.argv.length - 1; i++) {
    if (process.argv[i] === `--${name}`) out.push(process.argv[i + 1]!);
  }
  return out;
}
const arg = (name: string, dflt: string) => argValues(name).at(-1) ?? dflt;

const scale = parseScale(arg('scale', '100k'));
const cacheDir = arg('cache-dir', defaultCacheDir(scale));
const queries = Number(arg('queries', '20'));
const changes = Number(arg('changes', '100000'));
const rounds = Number(arg('rounds', '1'));
const nodeOptions = argValues('node-options');
const launchers = argValues('launcher').map((l) => path.resolve(l));
interface Variant {
  launcher: string;
  nodeOptions: string;
}
const variants: Variant[] = (launchers.length ? launchers : [LAUNCHER]).flatMap((launcher) =>
  (nodeOptions.length ? nodeOptions : ['']).map((o) => ({ launcher, nodeOptions: o })),
);

interface Memory {
  rss: number;
  hwm: number;
}

/** VmRSS and VmHWM of a live process, in MB. */
function memoryOf(pid: number): Memory {
  const m = procMemory(pid);
  if (!m) throw new Error(`process ${pid} is gone`);
  return { rss: m.rss / 2 ** 20, hwm: m.hwm / 2 ** 20 };
}

interface Sample {
  variant: Variant;
  bare: number;
  started: Memory;
  queried: Memory;
  answered: Memory;
  settled: Memory;
  paths: number;
  readyMs: number;
  /** The query answering the changed paths (the daemon's interpreter-only V8 shows here). */
  answerMs: number;
}

async function bareNodeRss(): Promise<number> {
  const bare = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  await sleep(1500);
  const rss = memoryOf(bare.pid!).rss;
  bare.kill();
  return rss;
}

async function request(repo: SynthRepo, payload: string): Promise<Buffer> {
  return sendRequest(socketPathFor(repo.gitDir), Buffer.from(payload), {
    timeoutMs: 60_000,
    fromDir: repo.root,
  });
}

async function waitWatching(
  repo: SynthRepo,
  pid: number,
  timeoutMs: number,
  gone: () => boolean,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (gone()) throw new Error(`daemon ${pid} exited before watching`);
    try {
      const s = JSON.parse((await request(repo, REQUEST.status)).toString());
      if (s.watching && s.pid === pid) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`daemon ${pid} not watching after ${timeoutMs} ms`);
}

/** The token and path count of one answer (`token\0` then `/\0` or `path\0`...). */
function parseAnswer(answer: Buffer): { token: string; paths: number } {
  const end = answer.indexOf(0);
  let nuls = 0;
  for (let i = end + 1; i < answer.length; i++) if (answer[i] === 0) nuls++;
  const trivial = answer[end + 1] === 0x2f && answer.length === end + 3;
  return { token: answer.subarray(0, end).toString('latin1'), paths: trivial ? -1 : nuls };
}

function touch(repo: SynthRepo, count: number, when: Date): void {
  for (const j of repo.layout.spread(count))
    fs.utimesSync(path.join(repo.root, repo.layout.rel(j)), when, when);
}

async function measure(repo: SynthRepo, variant: Variant, round: number): Promise<Sample> {
  const bare = await bareNodeRss();
  const env = gitEnv({ NODE_OPTIONS: daemonNodeOptions(variant.nodeOptions || undefined) });
  const t0 = performance.now();
  const daemon = spawn(variant.launcher, ['daemon', repo.root], { stdio: 'ignore', cwd: '/', env });
  let gone = false;
  const exited = new Promise<void>((resolve) =>
    daemon.once('exit', () => {
      gone = true;
      resolve();
    }),
  );
  try {
    await waitWatching(repo, daemon.pid!, 600_000, () => gone);
    const readyMs = performance.now() - t0;
    await sleep(1000);
    const started = memoryOf(daemon.pid!);
    let token = parseAnswer(await request(repo, 'builtin:none:0')).token;
    for (let i = 0; i < queries; i++) {
      const a = parseAnswer(await request(repo, token));
      if (a.paths !== 0) throw new Error(`no-change query answered ${a.paths} paths`);
      token = a.token;
    }
    const queried = memoryOf(daemon.pid!);
    // A different mtime each round, so every touch is a change git would see.
    touch(repo, changes, new Date(Date.now() - (round + 1) * 60_000));
    const t1 = performance.now();
    const a = parseAnswer(await request(repo, token));
    const answerMs = performance.now() - t1;
    const answered = memoryOf(daemon.pid!);
    await sleep(3000);
    const settled = memoryOf(daemon.pid!);
    return {
      variant,
      bare,
      started,
      queried,
      answered,
      settled,
      paths: a.paths,
      readyMs,
      answerMs,
    };
  } finally {
    if (!gone) await request(repo, REQUEST.quit).catch(() => daemon.kill());
    await exited;
  }
}

function report(s: Sample): void {
  const r = (m: number) => `${m.toFixed(1)} MB (${(m / s.bare).toFixed(2)}x)`;
  console.log(
    `${s.variant.launcher} NODE_OPTIONS='${s.variant.nodeOptions}'  ready in ${(s.readyMs / 1000).toFixed(1)} s`,
  );
  console.log(`  bare node             ${s.bare.toFixed(1)} MB`);
  console.log(`  after start           ${r(s.started.rss)}  peak ${s.started.hwm.toFixed(1)} MB`);
  console.log(
    `  after ${queries} queries       ${r(s.queried.rss)}  peak ${s.queried.hwm.toFixed(1)} MB`,
  );
  console.log(
    `  after ${s.paths} paths   ${r(s.answered.rss)}  peak ${s.answered.hwm.toFixed(1)} MB  (answered in ${s.answerMs.toFixed(0)} ms)`,
  );
  console.log(`  3 s later             ${r(s.settled.rss)}`);
}

async function main(): Promise<void> {
  const repo = await ensureRepo(scale, cacheDir, (m) => console.log(m));
  console.log(`${repo.layout.files} files, ${repo.layout.dirs} dirs; load ${loadAverage()}`);
  for (let round = 0; round < rounds; round++) {
    for (const variant of variants) report(await measure(repo, variant, round));
  }
  console.log(`load ${loadAverage()}`);
}

void main();
