/**
 * Stalls: what a git command costs when the daemon cannot answer properly. For each
 * case, the first and the next five `git status --porcelain` through the C shim, as extra time
 * over `git --no-optional-locks -c core.fsmonitor=false status --porcelain` measured in the
 * same case, and whether that meets "first <= 1 s, later <= 50 ms each". Information only:
 * the exit code never depends on timings.
 *
 *   npm run bench:stall [-- --case NAME[,NAME]] [--files N]
 *
 * Cases: a SIGSTOP'd daemon; a foreign server that accepts and never answers; refusals the
 * daemon cannot record (`.git/fsmond` owned by another uid, as `sudo git status` in a user's
 * repository finds it; a worktree path with a newline); unreadable directories (git and the
 * daemon as uid 65534, since root reads everything); a full inotify watch table (inside a user
 * namespace of its own with user.max_inotify_watches lowered, never the machine-wide limit).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { REQUEST } from '../src/contract/index.js';
import { sendRequest } from '../src/ipc/index.js';
import { fmtMs, loadAverage, renderTable, sleep, stats } from './measure.js';
import { C_SHIM, LAUNCHER, SOCK_NAME } from './monitor.js';
import { ensureRepo, git, gitEnv, parseScale } from './synth.js';
import { inOwnUserNamespace } from './userns.js';

const SELF = fileURLToPath(import.meta.url);
const NOBODY = 65534;
const FIRST_LIMIT_MS = 1000;
const LATER_LIMIT_MS = 50;
const LATER_RUNS = 5;
const BASELINE_RUNS = 5;
/** A git command still running after this is killed and reported, not waited for. */
const GUARD_MS = 60_000;
const WATCH_LIMIT = '/proc/sys/user/max_inotify_watches';

/** Who runs git (and so the daemon the shim starts) and with what environment. */
interface Runner {
  env: NodeJS.ProcessEnv;
  uid?: number;
}

interface Run {
  ms: number;
  stdout: string;
  status: number | null;
  hung: boolean;
}

function runGit(cwd: string, args: string[], runner: Runner): Promise<Run> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn('git', args, {
      cwd,
      env: runner.env,
      uid: runner.uid,
      gid: runner.uid,
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: GUARD_MS,
      killSignal: 'SIGKILL',
    });
    const out: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.on('error', reject);
    child.on('close', (status, signal) =>
      resolve({
        ms: Number(process.hrtime.bigint() - t0) / 1e6,
        stdout: Buffer.concat(out).toString('latin1'),
        status,
        hung: signal === 'SIGKILL',
      }),
    );
  });
}

const STATUS = ['status', '--porcelain'];
const BASELINE = ['--no-optional-locks', '-c', 'core.fsmonitor=false', ...STATUS];

/** A stalled worktree, ready for the timed commands. */
interface Stalled {
  root: string;
  runner: Runner;
  /** Undoes the stall and stops whatever serves the worktree. */
  cleanup(): Promise<void>;
}

interface StallCase {
  name: string;
  label: string;
  /** Runs in a user namespace of its own (this file again, under `unshare -U -r`). */
  namespace?: boolean;
  /** Makes the stall under `dir`, or says why the case cannot run here. */
  setup(dir: string, files: number): Promise<Stalled | string>;
}

interface CaseResult {
  name: string;
  label: string;
  skip?: string;
  baseMs?: number;
  extras?: number[];
  sameOutput?: boolean;
  hung?: number;
}

/** A committed synthetic repository at `<dir>/repo` with the C shim as its fsmonitor. */
async function repoAt(dir: string, files: number): Promise<{ root: string; gitDir: string }> {
  const repo = await ensureRepo(parseScale(String(files)), dir, () => {});
  git(repo.root, ['config', 'core.fsmonitor', C_SHIM]);
  git(repo.root, ['config', 'core.fsmonitorHookVersion', '2']);
  return { root: repo.root, gitDir: repo.gitDir };
}

const daemonPid = async (sock: string): Promise<number | null> => {
  try {
    const raw = await sendRequest(sock, Buffer.from(REQUEST.status), { timeoutMs: 5000 });
    return Number((JSON.parse(raw.toString('utf8')) as { pid: number }).pid);
  } catch {
    return null;
  }
};

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Starts the daemon as `runner` would have the shim start it; resolves once it listens. */
async function startDaemon(root: string, gitDir: string, runner: Runner): Promise<number> {
  const child = spawn(LAUNCHER, ['daemon', root], {
    cwd: '/',
    env: runner.env,
    uid: runner.uid,
    gid: runner.uid,
    stdio: 'ignore',
    detached: true,
  });
  child.unref();
  const sock = path.join(gitDir, SOCK_NAME);
  const end = Date.now() + 60_000;
  for (;;) {
    const pid = await daemonPid(sock);
    if (pid) return pid;
    if (child.exitCode !== null || Date.now() > end) {
      throw new Error(`daemon for ${root} did not listen (exit ${child.exitCode})`);
    }
    await sleep(20);
  }
}

/** Asks the daemon serving `gitDir` to quit; SIGKILL when it does not go within 10 s. */
async function stopDaemon(gitDir: string): Promise<void> {
  const sock = path.join(gitDir, SOCK_NAME);
  const pid = await daemonPid(sock);
  if (!pid) return;
  await sendRequest(sock, Buffer.from(REQUEST.quit), { timeoutMs: 5000 }).catch(() => {});
  const end = Date.now() + 10_000;
  while (alive(pid) && Date.now() < end) await sleep(20);
  if (alive(pid)) process.kill(pid, 'SIGKILL');
}

/** A daemon that watches, and an index holding one of its tokens: the state before a stall. */
async function servedRepo(dir: string, files: number, runner: Runner) {
  const repo = await repoAt(dir, files);
  await startDaemon(repo.root, repo.gitDir, runner);
  await runGit(repo.root, STATUS, runner);
  await runGit(repo.root, STATUS, runner);
  return repo;
}

const asRoot: Runner = { env: gitEnv() };

/**
 * Everything under `dir` handed to uid 65534, which also gets a HOME of its own: root passes
 * every permission check, so an unreadable directory only means something to another user.
 */
function asNobody(dir: string): Runner | string {
  if (process.getuid?.() !== 0) return 'needs root (to run git and the daemon as uid 65534)';
  const home = path.join(dir, 'home');
  fs.mkdirSync(home, { recursive: true });
  for (let d = dir; d !== path.dirname(d); d = path.dirname(d)) {
    // Each scratch level is a private mkdtemp: let the other user through.
    if (d.startsWith(os.tmpdir()) && d !== os.tmpdir()) fs.chmodSync(d, 0o755);
  }
  chownTree(dir, NOBODY);
  return { uid: NOBODY, env: { ...gitEnv(), HOME: home, XDG_CONFIG_HOME: path.join(home, '.c') } };
}

function chownTree(dir: string, uid: number): void {
  fs.lchownSync(dir, uid, uid);
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    fs.lchownSync(path.join(e.parentPath, e.name), uid, uid);
  }
}

function unreadable(mode: number): StallCase['setup'] {
  return async (dir, files) => {
    const repo = await repoAt(dir, files);
    const runner = asNobody(dir);
    if (typeof runner === 'string') return runner;
    // dir_0 holds tracked files (bench/synth.ts layout); unreadable before the daemon starts,
    // as after a reboot or a `git fsmond stop`.
    const blocked = path.join(repo.root, 'dir_0');
    fs.chmodSync(blocked, mode);
    await startDaemon(repo.root, repo.gitDir, runner);
    return {
      root: repo.root,
      runner,
      cleanup: async () => {
        fs.chmodSync(blocked, 0o755);
        await stopDaemon(repo.gitDir);
      },
    };
  };
}

const CASES: StallCase[] = [
  {
    name: 'sigstop',
    label: "SIGSTOP'd daemon",
    async setup(dir, files) {
      const repo = await servedRepo(dir, files, asRoot);
      const pid = (await daemonPid(path.join(repo.gitDir, SOCK_NAME)))!;
      process.kill(pid, 'SIGSTOP');
      return {
        root: repo.root,
        runner: asRoot,
        cleanup: async () => {
          process.kill(pid, 'SIGCONT');
          await stopDaemon(repo.gitDir);
        },
      };
    },
  },
  {
    name: 'foreign',
    label: 'foreign server: accepts, never answers',
    async setup(dir, files) {
      const repo = await servedRepo(dir, files, asRoot);
      await stopDaemon(repo.gitDir);
      const sock = path.join(repo.gitDir, SOCK_NAME);
      const conns = new Set<net.Socket>();
      const server = net.createServer((c) => {
        conns.add(c);
        c.on('error', () => {});
      });
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(sock, () => resolve());
      });
      return {
        root: repo.root,
        runner: asRoot,
        cleanup: async () => {
          for (const c of conns) c.destroy();
          await new Promise<void>((resolve) => server.close(() => resolve()));
          fs.rmSync(sock, { force: true });
        },
      };
    },
  },
  {
    name: 'foreign-state-dir',
    label: '.git/fsmond owned by uid 65534 (sudo git status)',
    async setup(dir, files) {
      const repo = await repoAt(dir, files);
      const state = path.join(repo.gitDir, 'fsmond');
      fs.mkdirSync(state, { recursive: true, mode: 0o700 });
      chownTree(state, NOBODY);
      return { root: repo.root, runner: asRoot, cleanup: async () => {} };
    },
  },
  {
    name: 'newline-path',
    label: 'worktree path with a newline',
    async setup(dir, files) {
      const repo = await repoAt(path.join(dir, 'new\nline'), files);
      return { root: repo.root, runner: asRoot, cleanup: async () => {} };
    },
  },
  {
    name: 'unreadable-000',
    label: 'directory chmod 000 (uid 65534)',
    setup: unreadable(0o000),
  },
  {
    name: 'unreadable-111',
    label: 'directory chmod 0111, tracked files inside (uid 65534)',
    setup: unreadable(0o111),
  },
  {
    name: 'watch-table-full',
    label: 'inotify watch table full (user namespace)',
    namespace: true,
    async setup(dir, files) {
      if (!inOwnUserNamespace()) return 'not in a user namespace of its own';
      try {
        fs.writeFileSync(WATCH_LIMIT, '100000');
      } catch (e) {
        return `cannot write ${WATCH_LIMIT}: ${(e as Error).message}`;
      }
      const repo = await repoAt(dir, files);
      // The root, the git dir and the cookie dir fit; the worktree's directories do not.
      fs.writeFileSync(WATCH_LIMIT, '3');
      await startDaemon(repo.root, repo.gitDir, asRoot);
      return {
        root: repo.root,
        runner: asRoot,
        cleanup: async () => {
          fs.writeFileSync(WATCH_LIMIT, '100000');
          await stopDaemon(repo.gitDir);
        },
      };
    },
  },
];

async function measure(c: StallCase, stalled: Stalled): Promise<CaseResult> {
  const { root, runner } = stalled;
  await runGit(root, BASELINE, runner);
  const base: Run[] = [];
  for (let i = 0; i < BASELINE_RUNS; i++) base.push(await runGit(root, BASELINE, runner));
  const baseMs = stats(base.map((r) => r.ms)).median;
  const runs: Run[] = [];
  for (let i = 0; i <= LATER_RUNS; i++) runs.push(await runGit(root, STATUS, runner));
  return {
    name: c.name,
    label: c.label,
    baseMs,
    extras: runs.map((r) => r.ms - baseMs),
    sameOutput: runs.every((r) => r.status === 0 && r.stdout === base[0]!.stdout),
    hung: runs.filter((r) => r.hung).length,
  };
}

async function runCase(
  c: StallCase,
  scratch: string,
  files: number,
  inNamespace = false,
): Promise<CaseResult> {
  if (c.namespace && !inNamespace) return runUnshared(c, files);
  const dir = fs.mkdtempSync(path.join(scratch, `${c.name}-`));
  const stalled = await c.setup(dir, files);
  if (typeof stalled === 'string') return { name: c.name, label: c.label, skip: stalled };
  try {
    return await measure(c, stalled);
  } finally {
    await stalled.cleanup();
  }
}

/** Runs this file again under `unshare -U -r` for case `c`; it prints one JSON line. */
async function runUnshared(c: StallCase, files: number): Promise<CaseResult> {
  const args = [process.execPath, SELF, '--case', c.name, '--files', String(files)];
  const child = spawn('unshare', ['-U', '-r', ...args, '--in-user-namespace'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const code = await new Promise<number | null>((resolve) => {
    child.on('error', () => resolve(-1));
    child.on('close', (status) => resolve(status));
  });
  try {
    return JSON.parse(out.trim().split('\n').pop() ?? '') as CaseResult;
  } catch {
    const why = (err.trim() || out.trim()).split('\n')[0];
    return { name: c.name, label: c.label, skip: `user namespace: exit ${code}: ${why}` };
  }
}

function report(results: CaseResult[], files: number): void {
  const head = [
    'case',
    'baseline',
    'first +',
    `next ${LATER_RUNS} +`,
    'first <= 1 s',
    'later <= 50 ms',
    'output',
  ];
  const rows = results.map((r) => {
    if (r.skip || !r.extras) return [r.label, '', '', '', '', '', `skipped: ${r.skip}`];
    const [first, ...later] = r.extras;
    const output = r.hung ? `${r.hung} HUNG` : r.sameOutput ? 'same' : 'DIFFERS';
    return [
      r.label,
      fmtMs(r.baseMs!),
      fmtMs(first!),
      later.map((x) => fmtMs(x)).join(', '),
      first! <= FIRST_LIMIT_MS ? 'yes' : 'NO',
      later.every((x) => x <= LATER_LIMIT_MS) ? 'yes' : 'NO',
      output,
    ];
  });
  console.log('');
  console.log(
    `git-fsmond stall bench: ${files}-file repositories, ${os.cpus().length} cores, load average ${loadAverage()}`,
  );
  console.log(renderTable(head, rows));
  console.log(
    `+ = extra time of git status --porcelain (C shim) over the median of ${BASELINE_RUNS} runs of ` +
      'git --no-optional-locks -c core.fsmonitor=false status --porcelain in the same case. ' +
      "output: every timed run's output equals the baseline's. Information only: the exit code never depends on timings.",
  );
}

function parseArgs(argv: string[]) {
  const opts = { cases: CASES.map((c) => c.name), files: 2000, inNamespace: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--in-user-namespace') opts.inNamespace = true;
    else if (a === '--case') opts.cases = (argv[++i] ?? '').split(',');
    else if (a === '--files') opts.files = Number(argv[++i]);
    else {
      console.log(
        `usage: npm run bench:stall -- [--case ${CASES.map((c) => c.name).join(',')}] [--files N]`,
      );
      process.exit(a === '--help' || a === '-h' ? 0 : 2);
    }
  }
  const unknown = opts.cases.filter((n) => !CASES.some((c) => c.name === n));
  if (unknown.length || !(opts.files >= 100)) throw new Error(`bad --case ${unknown} or --files`);
  return opts;
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'fsmond-stall-'));
  if (opts.inNamespace) {
    try {
      const c = CASES.find((x) => x.name === opts.cases[0])!;
      console.log(JSON.stringify(await runCase(c, scratch, opts.files, true)));
    } finally {
      fs.rmSync(scratch, { recursive: true, force: true, maxRetries: 3 });
    }
    return;
  }
  const results: CaseResult[] = [];
  try {
    for (const c of CASES.filter((x) => opts.cases.includes(x.name))) {
      const t0 = Date.now();
      // One broken case (a daemon that would not start, say) must not hide the others.
      const r = await runCase(c, scratch, opts.files).catch(
        (e: unknown): CaseResult => ({
          name: c.name,
          label: c.label,
          skip: `error: ${(e as Error).message ?? e}`,
        }),
      );
      results.push(r);
      const what = r.skip
        ? `skipped: ${r.skip}`
        : `first +${fmtMs(r.extras![0]!)}, then ${r
            .extras!.slice(1)
            .map((x) => `+${fmtMs(x)}`)
            .join(' ')}`;
      console.log(`${c.label}: ${what} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    }
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true, maxRetries: 3 });
  }
  report(results, opts.files);
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e instanceof Error ? (e.stack ?? e.message) : e);
    process.exit(1);
  },
);
