import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { STATUS_REQUEST } from '../daemon/index.js';
import { type RepoInfo, socketPathFor } from '../git/index.js';
import { sendRequest, socketState } from '../ipc/index.js';

/** A failure the CLI reports as one line and a non-zero exit. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

export const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const LAUNCHER = path.join(PACKAGE_ROOT, 'bin', 'git-fsmond');

export type DaemonStatus = Record<string, unknown> & { pid: number; watching: boolean };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function isListening(repo: RepoInfo): Promise<boolean> {
  return (await socketState(socketPathFor(repo.gitDir))) === 'listening';
}

/** The daemon's own status snapshot, or null when nothing answers on the socket. */
export async function fetchStatus(repo: RepoInfo, timeoutMs = 3000): Promise<DaemonStatus | null> {
  try {
    const raw = await sendRequest(socketPathFor(repo.gitDir), Buffer.from(STATUS_REQUEST), {
      timeoutMs,
    });
    return JSON.parse(raw.toString('utf8')) as DaemonStatus;
  } catch {
    return null;
  }
}

/** Environment for a detached daemon: no CA bundle to parse (it never talks to a network). */
export function daemonEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  return env;
}

/**
 * Starts a detached daemon (own session, stdio nowhere, cwd outside the worktree) and waits
 * until it listens. `onProgress` sees status snapshots while the first registration runs.
 */
export async function startDaemon(
  repo: RepoInfo,
  opts: { timeoutMs: number; waitWatching: boolean; onProgress?: (s: DaemonStatus) => void },
): Promise<DaemonStatus> {
  if (await isListening(repo)) throw new CliError(`already running for '${repo.worktree}'`);
  const child = spawn(LAUNCHER, ['daemon', repo.worktree], {
    detached: true,
    stdio: 'ignore',
    cwd: '/',
    env: daemonEnv(),
  });
  let exited: number | null = null;
  child.on('exit', (code) => {
    exited = code ?? 1;
  });
  child.on('error', () => {
    exited = 127;
  });
  child.unref();
  const deadline = Date.now() + opts.timeoutMs;
  while (Date.now() < deadline) {
    const status = (await isListening(repo)) ? await fetchStatus(repo) : null;
    if (status) {
      opts.onProgress?.(status);
      if (!opts.waitWatching || status.watching) return status;
    } else if (exited !== null) {
      throw new CliError(
        `daemon exited with code ${exited} before listening; see '${path.join(repo.gitDir, 'fsmond', 'daemon.log')}'`,
      );
    }
    await sleep(status ? 100 : 10);
  }
  throw new CliError(`daemon did not become ready within ${opts.timeoutMs / 1000} s`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Asks the daemon to quit and waits until its process is gone. False when none was running. */
export async function stopDaemon(repo: RepoInfo, timeoutMs: number): Promise<boolean> {
  const status = await fetchStatus(repo);
  if (!status) return false;
  try {
    await sendRequest(socketPathFor(repo.gitDir), Buffer.from('quit'), { timeoutMs });
  } catch {
    // It may close before answering; waiting for the process below is what counts.
  }
  const deadline = Date.now() + timeoutMs;
  while (alive(status.pid) || (await isListening(repo))) {
    if (Date.now() > deadline) {
      throw new CliError(`daemon (pid ${status.pid}) did not stop within ${timeoutMs / 1000} s`);
    }
    await sleep(20);
  }
  return true;
}
