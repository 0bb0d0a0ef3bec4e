import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type DaemonStatus, findSocket, REQUEST } from '../../src/contract/index.js';
import { EXIT_ALREADY_RUNNING } from '../../src/daemon/index.js';
import { sendRequest, socketState } from '../../src/ipc/index.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const LAUNCHER = path.join(ROOT, 'bin', 'git-fsmond');
export const C_SHIM = path.join(ROOT, 'hooks', 'bin', 'fsmond-hook');
export const NODE_SHIM = path.join(ROOT, 'hooks', 'fsmond-hook.cjs');

/** The shim under test: FSMOND_TEST_SHIM=c|node, else the C one when it was built. */
export function testShim(): string {
  const want = process.env.FSMOND_TEST_SHIM;
  if (want === 'node') return NODE_SHIM;
  if (want === 'c' || fs.existsSync(C_SHIM)) return C_SHIM;
  return NODE_SHIM;
}

/** Removed when the test process exits; a daemon left in one notices and exits too. */
const scratchDirs = new Set<string>();
process.on('exit', () => {
  for (const d of scratchDirs) {
    try {
      fs.rmSync(d, { recursive: true, force: true });
    } catch {
      // a mount point still busy, say: leave it rather than fail the run
    }
  }
});

const tmpHome = fs.mkdtempSync(path.join(os.tmpdir(), 'fsmond-home-'));
scratchDirs.add(tmpHome);

/** git with no user or system config leaking in (a developer may have enabled us globally). */
export const GIT_ENV: NodeJS.ProcessEnv = {
  ...process.env,
  HOME: tmpHome,
  XDG_CONFIG_HOME: path.join(tmpHome, '.config'),
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_AUTHOR_NAME: 'Fuzz',
  GIT_AUTHOR_EMAIL: 'fuzz@example.com',
  GIT_COMMITTER_NAME: 'Fuzz',
  GIT_COMMITTER_EMAIL: 'fuzz@example.com',
  GIT_TRACE_FSMONITOR: '',
  GIT_DIR: '',
  // The shims give a daemon 1 s for the first byte, then answer / and mark it unresponsive:
  // two loaded cores can take that long, and tests that check answers need the real thing.
  GIT_FSMOND_HOOK_TIMEOUT_MS: '20000',
  // Each test process lists only the daemons it started itself.
  GIT_FSMOND_RUNTIME_DIR: path.join(tmpHome, 'run'),
};
delete GIT_ENV.GIT_DIR;
delete GIT_ENV.GIT_TRACE_FSMONITOR;

export function git(
  cwd: string,
  args: string[],
  input?: string,
  env: Record<string, string> = {},
): string {
  return execFileSync('git', args, {
    cwd,
    env: { ...GIT_ENV, ...env },
    encoding: 'latin1',
    input,
    maxBuffer: 256 << 20,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

export function tempDir(prefix = 'fsmond-'): string {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), prefix)));
  scratchDirs.add(dir);
  return dir;
}

export interface RepoOptions {
  files?: Record<string, string>;
  untrackedCache?: boolean;
  shim?: string;
  /** Configure git-fsmond as the repository's fsmonitor (default true). */
  monitor?: boolean;
  /** Parent directory for the worktree (defaults to a fresh temp dir). */
  parent?: string;
  name?: string;
}

/** A committed repository with git-fsmond configured as its fsmonitor hook. */
export function makeRepo(opts: RepoOptions = {}): string {
  const parent = opts.parent ?? tempDir();
  const wt = path.join(parent, opts.name ?? 'wt');
  fs.mkdirSync(wt, { recursive: true });
  git(wt, ['init', '-q', '-b', 'main']);
  const files = opts.files ?? {
    'README.md': 'hello\n',
    'src/a.txt': 'a\n',
    'src/deep/b.txt': 'b\n',
  };
  for (const [rel, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(wt, rel)), { recursive: true });
    fs.writeFileSync(path.join(wt, rel), content);
  }
  git(wt, ['add', '-A']);
  git(wt, ['commit', '-q', '-m', 'init']);
  if (opts.monitor !== false) enableMonitor(wt, opts);
  return wt;
}

export function enableMonitor(wt: string, opts: RepoOptions = {}): void {
  git(wt, ['config', 'core.fsmonitor', opts.shim ?? testShim()]);
  git(wt, ['config', 'core.fsmonitorHookVersion', '2']);
  git(wt, ['config', 'core.untrackedCache', String(opts.untrackedCache ?? true)]);
  // Two loaded cores can hold a cookie past the 0.6 s default; the answer is then a correct `/`,
  // but tests that check answers are incremental need the real thing.
  git(wt, ['config', 'fsmond.cookieTimeoutMs', '5000']);
}

export function gitDirOf(wt: string): string {
  // A path, not file content: decode it as the UTF-8 the filesystem API expects.
  return Buffer.from(git(wt, ['rev-parse', '--absolute-git-dir']), 'latin1')
    .toString('utf8')
    .trim();
}

/** The socket the daemon of this worktree listens on, found as the shims find it. */
export function socketOf(wt: string): string {
  return findSocket(gitDirOf(wt));
}

const STATUS_ARGS = ['status', '--porcelain=v2', '--untracked-files=all'];

/**
 * How a status is run, when not plainly in its worktree: another cwd, git options before the
 * command (`--work-tree=...`), extra environment (`GIT_DIR`, shim limits).
 */
export interface StatusAt {
  cwd?: string;
  gitOptions?: string[];
  env?: Record<string, string>;
}

/** `git status` through the monitor (it writes the index, so the token moves on). */
export function statusWithMonitor(wt: string, at: StatusAt = {}): string {
  return git(at.cwd ?? wt, [...(at.gitOptions ?? []), ...STATUS_ARGS], undefined, at.env);
}

/** The oracle: no monitor, and no index write, so the monitor's token is left alone. */
export function statusOracle(wt: string, at: StatusAt = {}): string {
  return git(
    at.cwd ?? wt,
    [...(at.gitOptions ?? []), '--no-optional-locks', '-c', 'core.fsmonitor=false', ...STATUS_ARGS],
    undefined,
    at.env,
  );
}

export async function waitFor(what: string, check: () => boolean | Promise<boolean>, ms = 15_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export type { DaemonStatus } from '../../src/contract/index.js';

export async function daemonStatus(wt: string): Promise<DaemonStatus | null> {
  try {
    const raw = await sendRequest(socketOf(wt), Buffer.from(REQUEST.status), { timeoutMs: 5000 });
    return JSON.parse(raw.toString('utf8')) as DaemonStatus;
  } catch {
    return null;
  }
}

/**
 * A daemon as a child of the test (so the test can kill it), watching when this resolves. If a
 * git command already auto-started one, the child exits with "already running" and that one
 * serves; waiting for either outcome keeps a slow child from taking over the socket later.
 */
export async function startDaemon(wt: string): Promise<ChildProcess> {
  const child = spawn(LAUNCHER, ['daemon', wt], { env: GIT_ENV, stdio: 'ignore' });
  let exitCode: number | null = null;
  child.on('exit', (code) => {
    exitCode = code ?? -1;
  });
  await waitFor('daemon to watch', async () => {
    if (exitCode !== null && exitCode !== EXIT_ALREADY_RUNNING) {
      throw new Error(`daemon exited with ${exitCode}`);
    }
    const s = await daemonStatus(wt);
    return s?.watching === true && (s.pid === child.pid || exitCode === EXIT_ALREADY_RUNNING);
  });
  return child;
}

/** Stops whatever daemon serves `wt` (ours or one the shim started) and waits until it is gone. */
export async function stopDaemon(wt: string): Promise<void> {
  const sock = socketOf(wt);
  const s = await daemonStatus(wt);
  if (!s) return;
  await sendRequest(sock, Buffer.from(REQUEST.quit), { timeoutMs: 5000 }).catch(() => {});
  await waitFor('daemon to exit', () => {
    try {
      process.kill(s.pid, 0);
      return false;
    } catch {
      return true;
    }
  });
  await waitFor('socket to go', async () => (await socketState(sock)) !== 'listening');
}
