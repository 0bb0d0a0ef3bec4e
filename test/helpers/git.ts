import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { LAUNCHER, PACKAGE_ROOT } from '../../src/cli/common.js';
import { C_SHIM, NODE_SHIM } from '../../src/cli/config.js';
import { type DaemonStatus, findSocket, REQUEST } from '../../src/contract/index.js';
import { EXIT_ALREADY_RUNNING } from '../../src/daemon/index.js';
import { sendRequest, socketState } from '../../src/ipc/index.js';
import { scratchDir } from './scratch.js';
import { waitFor } from './wait.js';

export { C_SHIM, LAUNCHER, NODE_SHIM, PACKAGE_ROOT };

/** The shim under test: FSMOND_TEST_SHIM=c|node, else the C one when it was built. */
export function testShim(): string {
  const want = process.env.FSMOND_TEST_SHIM;
  if (want === 'node') return NODE_SHIM;
  if (want === 'c' || fs.existsSync(C_SHIM)) return C_SHIM;
  return NODE_SHIM;
}

const tmpHome = scratchDir('fsmond-home-');
/** A global config in which `enable` takes test repositories of a handful of files. */
export const SMALL_REPOS_ENABLED = '[fsmond]\n\tenableMinEntries = 0\n';
fs.writeFileSync(path.join(tmpHome, '.gitconfig'), SMALL_REPOS_ENABLED);

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
  const parent = opts.parent ?? scratchDir();
  const wt = path.join(parent, opts.name ?? 'wt');
  fs.mkdirSync(wt, { recursive: true });
  git(wt, ['init', '-q', '-b', 'main']);
  // With thousands of files the first commit would start a background `git gc`, whose index
  // reads would make the shim start a daemon behind the test's back.
  git(wt, ['config', 'gc.auto', '0']);
  git(wt, ['config', 'maintenance.auto', 'false']);
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

export type { DaemonStatus } from '../../src/contract/index.js';

/** The status snapshot of the daemon serving the socket at `sock`, or null. */
export async function statusAt(sock: string, timeoutMs = 5000): Promise<DaemonStatus | null> {
  try {
    const raw = await sendRequest(sock, Buffer.from(REQUEST.status), { timeoutMs });
    return JSON.parse(raw.toString('utf8')) as DaemonStatus;
  } catch {
    return null;
  }
}

/** The status snapshot of the daemon serving `wt`, or null. */
export function daemonStatus(wt: string): Promise<DaemonStatus | null> {
  return statusAt(socketOf(wt));
}

/**
 * A daemon as a child of the test (so the test can kill it), watching when this resolves. If a
 * git command already auto-started one, the child exits with "already running" and that one
 * serves; waiting for either outcome keeps a slow child from taking over the socket later.
 */
export async function startRealDaemon(wt: string): Promise<ChildProcess> {
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

/** Stops the daemon serving `wt` (started by the test or by git) once test `t` is done. */
export function stopDaemonAfter(t: TestContext, wt: string): string {
  t.after(() => stopDaemon(wt));
  return wt;
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
