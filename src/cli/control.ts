import { spawn } from 'node:child_process';
import fs from 'node:fs';
import {
  type DaemonEntry,
  type DaemonStatus,
  daemonNodeOptions,
  findSocket,
  REQUEST,
  stateDirFor,
  stateFile,
} from '../contract/index.js';
import { ownerName, StateDir, settingsFrom } from '../daemon/index.js';
import { filesystemOf, type RepoInfo, readConfig } from '../git/index.js';
import { listenerOf, type PeerCredentials, sendRequest, socketState } from '../ipc/index.js';
import { stopService, unitsInstalled } from '../service/index.js';
import { CliError, LAUNCHER, out } from './common.js';

export type { DaemonStatus } from '../contract/index.js';
export { CliError, LAUNCHER, PACKAGE_ROOT } from './common.js';

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

export interface Blocker {
  reason: string;
  fix: string;
  /** A running daemon can write no cookie there: it answers only `/`. */
  readOnly?: boolean;
}

/**
 * What stops a daemon started by this user from starting (or from ever answering incrementally)
 * here, as far as can be seen without starting one: a git dir of another user, a state dir or
 * spawn lock left by another user (typically root, after `sudo git ...`), a symlink there, a
 * read-only git dir.
 */
export function startBlocker(repo: RepoInfo): Blocker | null {
  const euid = process.geteuid?.();
  const foreign = (st: fs.Stats | undefined) =>
    st !== undefined && euid !== undefined && st.uid !== euid;
  const gitDirSt = fs.statSync(repo.gitDir, { throwIfNoEntry: false });
  if (foreign(gitDirSt)) {
    return {
      reason: `'${repo.gitDir}' belongs to ${ownerName(gitDirSt!.uid)}: the daemon runs only as the owner of the repository`,
      fix: `run git-fsmond as ${ownerName(gitDirSt!.uid)}`,
    };
  }
  const dir = stateDirFor(repo.gitDir);
  const removeIt = `${euid === 0 ? '' : 'sudo '}rm -rf '${dir}' (a new one is made)`;
  const st = fs.lstatSync(dir, { throwIfNoEntry: false });
  if (st?.isSymbolicLink()) return { reason: `'${dir}' is a symlink`, fix: removeIt };
  if (st && !st.isDirectory()) return { reason: `'${dir}' is not a directory`, fix: removeIt };
  for (const p of [dir, stateFile(repo.gitDir, 'spawnLock'), stateFile(repo.gitDir, 'cookieDir')]) {
    const pst = fs.lstatSync(p, { throwIfNoEntry: false });
    if (foreign(pst)) {
      return { reason: `'${p}' belongs to ${ownerName(pst!.uid)}`, fix: removeIt };
    }
  }
  if (st && (st.mode & 0o022) !== 0) {
    return { reason: `'${dir}' is writable by others than you`, fix: removeIt };
  }
  try {
    fs.accessSync(st ? dir : repo.gitDir, fs.constants.W_OK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EROFS') {
      return {
        reason: `'${repo.gitDir}' is on a read-only filesystem`,
        fix: 'remount it read-write, or disable git-fsmond here',
        readOnly: true,
      };
    }
  }
  return null;
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
    return await sendRequest(socket, Buffer.from(payload, 'utf8'), {
      timeoutMs: 10_000,
      fromDir: repo.worktree,
    });
  } catch (err) {
    if ((await socketState(socket)) !== 'listening') throw notRunning(repo);
    throw new CliError(
      `the daemon for '${repo.worktree}' did not answer: ${(err as Error).message}`,
    );
  }
}

/** In git's own words (its t7527 greps them), so scripts written for git's daemon work too. */
export const alreadyRunning = (repo: RepoInfo, pid?: number) =>
  new CliError(
    `fsmonitor--daemon is already running '${repo.worktree}'${pid ? ` (pid ${pid})` : ''}`,
  );

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

/**
 * Environment for a detached daemon: no CA bundle to parse (it never talks to a network), V8
 * without its JIT (contract DAEMON_NODE_OPTION).
 */
export function daemonEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_OPTIONS: daemonNodeOptions(process.env.NODE_OPTIONS),
  };
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
    return dir.openForWrite('log', fs.constants.O_APPEND | fs.constants.O_CREAT).fd;
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
  if (running) throw alreadyRunning(repo, running.pid);
  const blocker = startBlocker(repo);
  if (blocker) {
    throw new CliError(`the daemon cannot start: ${blocker.reason}; fix: ${blocker.fix}`);
  }
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
      const why = child.pid === undefined ? null : lastLoggedError(repo, child.pid);
      throw new CliError(
        `the daemon exited with code ${exited} before listening${why ? `: ${why}` : ''}; see '${logPathFor(repo)}'`,
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

/**
 * The last error line process `pid` wrote to the daemon log (its own logger's, or the first
 * line of what it printed on stderr, which goes there too), or null.
 */
export function lastLoggedError(repo: RepoInfo, pid: number): string | null {
  let text: string;
  try {
    const fd = fs.openSync(logPathFor(repo), fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    try {
      const size = fs.fstatSync(fd).size;
      const len = Math.min(size, 64 * 1024);
      const buf = Buffer.alloc(len);
      fs.readSync(fd, buf, 0, len, size - len);
      text = buf.toString('utf8');
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return null;
  }
  const ours = new RegExp(`^\\S+ ${pid} (error|warn): (.*)$`);
  let found: string | null = null;
  for (const line of text.split('\n')) {
    const m = ours.exec(line);
    if (m?.[1] === 'error') found = m[2]!;
    else if (!found && /^\w*Error\b/.test(line)) found = line;
  }
  return found?.replace(/^(shutting down|failed to start|refusing to start): /, '') ?? null;
}

/**
 * Whether `pid` still runs. A zombie does not: a daemon that `start` detached is reaped by
 * whatever init the machine has, and some (container inits) take seconds to do it.
 */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.charAt(stat.lastIndexOf(')') + 2);
    return state !== 'Z' && state !== 'X';
  } catch (err) {
    // No /proc (not Linux): kill(0) is all there is.
    return (err as NodeJS.ErrnoException).code !== 'ENOENT' || !fs.existsSync('/proc/self/stat');
  }
}

/** How long `status`, `stop` and `doctor` give a daemon to answer before calling it mute. */
export const ANSWER_WITHIN_MS = 400;

export type Probe =
  | { state: 'none' }
  | { state: 'answering'; status: DaemonStatus }
  /** Accepts connections but does not answer (SIGSTOP'd, hung, a foreign server). */
  | { state: 'mute'; peer: PeerCredentials | null };

/** What serves this worktree's socket, within about ANSWER_WITHIN_MS even if it is mute. */
export async function probeDaemon(repo: RepoInfo): Promise<Probe> {
  const status = await fetchStatus(repo, ANSWER_WITHIN_MS);
  if (status) return { state: 'answering', status };
  if (!(await isListening(repo))) return { state: 'none' };
  return { state: 'mute', peer: await listenerOf(socketOf(repo)) };
}

/** "pid N" of a mute listener, or what is known instead. */
export function describeMute(peer: PeerCredentials | null): string {
  if (!peer) return 'a server of unknown pid';
  if (peer.pid === 0) return `a server of uid ${peer.uid} in another pid namespace`;
  return `pid ${peer.pid}`;
}

const realpath = (p: string) => {
  try {
    return fs.realpathSync(p);
  } catch {
    return null;
  }
};

/**
 * Why `pid` is not this worktree's daemon of ours (another user's process, or a program other
 * than our launcher running `daemon <worktree>` or `run`), or null when it is. Checked before
 * any signal: the pid of a mute server comes from the socket, which anyone may have bound.
 */
export function notOurDaemon(pid: number, uid: number, repo: RepoInfo): string | null {
  const euid = process.geteuid?.();
  if (euid !== undefined && uid !== euid) return `it runs as uid ${uid}, not as you`;
  let args: string[];
  try {
    args = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return 'its command line cannot be read';
  }
  const launcher = realpath(LAUNCHER);
  const at = args.findIndex((a) => a !== '' && realpath(a) === launcher);
  const rest = at < 0 ? [] : args.slice(at + 1);
  const daemonOf = rest[0] === 'daemon' && rest[1] ? realpath(rest[1]) : null;
  if (daemonOf === realpath(repo.worktree) || rest.includes('run')) return null;
  return `it is not git-fsmond's daemon for this worktree (${args.join(' ').trim()})`;
}

/** Until `pid` is gone or `ms` have passed; true if it is gone. */
async function waitGone(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (alive(pid)) {
    if (Date.now() > deadline) return false;
    await sleep(10);
  }
  return true;
}

/** How long a mute daemon gets to act on SIGTERM before SIGKILL. */
const TERM_GRACE_MS = 2_000;

/** A daemon that does not answer: verified to be ours, then SIGTERM (+SIGCONT), then SIGKILL. */
async function stopMute(repo: RepoInfo, peer: PeerCredentials | null): Promise<StopResult> {
  const what = describeMute(peer);
  const sock = socketOf(repo);
  if (!peer || peer.pid === 0) {
    throw new CliError(
      `${what} listens on '${sock}' but does not answer; find it with 'ss -xlp' and stop it`,
    );
  }
  const pid = peer.pid;
  const why = notOurDaemon(pid, peer.uid, repo);
  if (why) {
    throw new CliError(
      `pid ${pid} listens on '${sock}' but does not answer; not stopping it: ${why}`,
    );
  }
  // A stopped process keeps SIGTERM pending until it is continued.
  process.kill(pid, 'SIGTERM');
  process.kill(pid, 'SIGCONT');
  if (await waitGone(pid, TERM_GRACE_MS)) return { pid, how: 'did not answer; ended by SIGTERM' };
  process.kill(pid, 'SIGKILL');
  if (await waitGone(pid, TERM_GRACE_MS)) return { pid, how: 'did not answer; killed (SIGKILL)' };
  throw new CliError(`the daemon (pid ${pid}) survived SIGKILL (stuck in the kernel?)`);
}

const ACTIVATED_STOP =
  'systemd started: its socket keeps listening, so the next git command starts it again';

export const stoppedLine = (r: StopResult) =>
  `stopped daemon (pid ${r.pid})${r.how ? `, which ${r.how}` : ''}`;

export interface StopResult {
  pid: number;
  /** Set when it had to be signalled instead of asked. */
  how?: string;
}

/**
 * Asks the daemon to quit and waits until its process is gone; one that does not answer is
 * signalled instead. Null when none ran.
 */
export async function stopDaemon(repo: RepoInfo, timeoutMs: number): Promise<StopResult | null> {
  // Under IPC mode a probe would start the daemon (socket activation): systemd stops it.
  if (unitsInstalled(repo.gitDir)) {
    const pid = await stopService(repo.gitDir).catch((err: Error) => {
      throw new CliError(err.message);
    });
    return pid === null ? null : { pid, how: ACTIVATED_STOP };
  }
  const probe = await probeDaemon(repo);
  if (probe.state === 'none') return null;
  if (probe.state === 'mute') return stopMute(repo, probe.peer);
  const { pid } = probe.status;
  try {
    await sendRequest(socketOf(repo), Buffer.from(REQUEST.quit), { timeoutMs });
  } catch {
    // It may close before answering; waiting for the process below is what counts.
  }
  const deadline = Date.now() + timeoutMs;
  while (alive(pid) || (await isListening(repo))) {
    if (Date.now() > deadline) {
      throw new CliError(
        `the daemon (pid ${pid}) did not exit within ${timeoutMs / 1000} s; 'kill -KILL ${pid}' ends it`,
      );
    }
    await sleep(10);
  }
  return { pid };
}

/** The repository of a registered daemon, enough to reach its socket and to stop it. */
export function repoOfDaemon(d: DaemonEntry): RepoInfo {
  return { worktree: d.worktree, gitDir: d.gitDir, commonDir: d.gitDir, gitDirIsExternal: false };
}

/**
 * Stops registered daemons one by one, a line each on stdout (`why` after the worktree) and a
 * line per failure on stderr, so that one daemon that will not stop does not keep the others
 * running. Returns how many failed.
 */
export async function stopRegistered(
  daemons: readonly DaemonEntry[],
  timeoutMs: number,
  why = '',
): Promise<number> {
  let failed = 0;
  for (const d of daemons) {
    try {
      const stopped = await stopDaemon(repoOfDaemon(d), timeoutMs);
      if (stopped) out(`${stoppedLine(stopped)} for '${d.worktree}'${why}`);
    } catch (err) {
      failed++;
      process.stderr.write(`git-fsmond: ${(err as Error).message}\n`);
    }
  }
  return failed;
}
