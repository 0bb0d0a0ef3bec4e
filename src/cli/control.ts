import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { findSocket, REQUEST, stateFile } from '../contract/index.js';
import { StateDir, settingsFrom } from '../daemon/index.js';
import { filesystemOf, type RepoInfo, readConfig } from '../git/index.js';
import { sendRequest, socketState } from '../ipc/index.js';
import { CliError, LAUNCHER } from './common.js';

export { CliError, LAUNCHER, PACKAGE_ROOT } from './common.js';

export type DaemonStatus = Record<string, unknown> & {
  pid: number;
  watching: boolean;
  watchedDirectories: number;
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const logPathFor = (repo: RepoInfo) => stateFile(repo.gitDir, 'log');

/**
 * Where the daemon listens: `<gitdir>/fsmonitor--daemon.ipc`, or, when the git dir cannot hold
 * a socket, wherever the daemon's pointer file `<gitdir>/fsmond/socket` says (looked up as the
 * shims do it).
 */
export function socketOf(repo: RepoInfo): string {
  return findSocket(repo.gitDir);
}

/**
 * Why the last start was refused, as the daemon recorded it in `<gitdir>/fsmond/refused` (it
 * removes the file once a start succeeds); only if recorded at or after `sinceMs`.
 */
export function lastRefusal(repo: RepoInfo, sinceMs = 0): string | null {
  const file = stateFile(repo.gitDir, 'refused');
  try {
    if (fs.statSync(file).mtimeMs + 1000 < sinceMs) return null; // coarse mtimes
    return fs.readFileSync(file, 'utf8').trim() || null;
  } catch {
    return null;
  }
}

export async function isListening(repo: RepoInfo): Promise<boolean> {
  return (await socketState(socketOf(repo))) === 'listening';
}

/** The daemon's own status snapshot, or null when nothing answers on the socket. */
export async function fetchStatus(repo: RepoInfo, timeoutMs = 3000): Promise<DaemonStatus | null> {
  try {
    const raw = await sendRequest(socketOf(repo), Buffer.from(REQUEST.status), {
      timeoutMs,
    });
    return JSON.parse(raw.toString('utf8')) as DaemonStatus;
  } catch {
    return null;
  }
}

/** One request to the running daemon; "not running" and "not answering" are one-line errors. */
export async function request(repo: RepoInfo, payload: string): Promise<Buffer> {
  const socket = socketOf(repo);
  try {
    return await sendRequest(socket, Buffer.from(payload, 'utf8'), { timeoutMs: 10_000 });
  } catch (err) {
    if ((await socketState(socket)) !== 'listening') throw notRunning(repo);
    throw new CliError(
      `the daemon for '${repo.worktree}' did not answer: ${(err as Error).message}`,
    );
  }
}

export const notRunning = (repo: RepoInfo) =>
  new CliError(`no daemon is running for '${repo.worktree}'`);

/** The daemon refuses network filesystems (as git does); say so before changing anything. */
export async function refuseRemote(repo: RepoInfo): Promise<void> {
  const fsInfo = await filesystemOf(repo.worktree);
  if (fsInfo.remote && !settingsFrom(await readConfig(repo.worktree)).allowRemote) {
    throw new CliError(
      `'${repo.worktree}' is on a network filesystem (${fsInfo.name}), where change notifications are unreliable; set fsmonitor.allowRemote=true to use it anyway`,
    );
  }
}

/** Environment for a detached daemon: no CA bundle to parse (it never talks to a network). */
export function daemonEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  return env;
}

/**
 * The daemon's log opened for its stdout and stderr, as the hook shim does: a daemon that dies
 * before its logger starts leaves its reason there. 'ignore' unless `fsmond/` is a real
 * directory of ours (a planted symlink must not choose where we write).
 */
function openLogForChild(repo: RepoInfo): number | 'ignore' {
  let dir: StateDir | undefined;
  try {
    dir = StateDir.open(repo.gitDir);
    const { O_WRONLY, O_APPEND, O_CREAT, O_NOFOLLOW } = fs.constants;
    return fs.openSync(dir.file('log'), O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW, 0o600);
  } catch {
    return 'ignore';
  } finally {
    dir?.close();
  }
}

/**
 * Starts a detached daemon (own session, stdin nowhere, stdout and stderr to its log, cwd
 * outside the worktree) and waits
 * until it listens. `onProgress` sees status snapshots while the first registration runs.
 */
export async function startDaemon(
  repo: RepoInfo,
  opts: { timeoutMs: number; waitWatching: boolean; onProgress?: (s: DaemonStatus) => void },
): Promise<DaemonStatus> {
  const running = await fetchStatus(repo);
  if (running) throw new CliError(`already running for '${repo.worktree}' (pid ${running.pid})`);
  const spawnedAt = Date.now();
  const log = openLogForChild(repo);
  const child = spawn(LAUNCHER, ['daemon', repo.worktree], {
    detached: true,
    stdio: ['ignore', log, log],
    cwd: '/',
    env: daemonEnv(),
  });
  if (typeof log === 'number') fs.closeSync(log);
  let exited: number | null = null;
  child.on('exit', (code) => {
    exited = code ?? 1;
  });
  child.on('error', () => {
    exited = 127;
  });
  child.unref();
  const deadline = Date.now() + opts.timeoutMs;
  let last: DaemonStatus | null = null;
  while (Date.now() < deadline) {
    const status = (await isListening(repo)) ? await fetchStatus(repo) : null;
    if (status) {
      last = status;
      opts.onProgress?.(status);
      if (!opts.waitWatching || status.watching) return status;
    } else if (exited !== null) {
      const refusal = lastRefusal(repo, spawnedAt);
      if (refusal) throw new CliError(`the daemon refused to start: ${refusal}`);
      throw new CliError(
        `the daemon exited with code ${exited} before listening; see '${logPathFor(repo)}'`,
      );
    }
    await sleep(status ? 100 : 10);
  }
  if (last) {
    throw new CliError(
      `the daemon (pid ${last.pid}) is still registering watches after ${opts.timeoutMs / 1000} s (${last.watchedDirectories} directories so far); it goes on in the background: see 'git fsmond status'`,
    );
  }
  throw new CliError(`the daemon did not listen within ${opts.timeoutMs / 1000} s`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Asks the daemon to quit and waits until its process is gone: its pid, or null if none ran. */
export async function stopDaemon(repo: RepoInfo, timeoutMs: number): Promise<number | null> {
  const status = await fetchStatus(repo);
  if (!status) {
    if (!(await isListening(repo))) return null;
    throw new CliError(
      `something listens on '${socketOf(repo)}' but does not answer; find it with 'ss -xlp' and kill it`,
    );
  }
  try {
    await sendRequest(socketOf(repo), Buffer.from(REQUEST.quit), { timeoutMs });
  } catch {
    // It may close before answering; waiting for the process below is what counts.
  }
  const deadline = Date.now() + timeoutMs;
  while (alive(status.pid) || (await isListening(repo))) {
    if (Date.now() > deadline) {
      throw new CliError(
        `the daemon (pid ${status.pid}) did not exit within ${timeoutMs / 1000} s; 'kill -KILL ${status.pid}' ends it`,
      );
    }
    await sleep(20);
  }
  return status.pid;
}
