import fs from 'node:fs';
import path from 'node:path';

/**
 * The on-disk layout that the daemon, the CLI and both hook shims agree on. The shims keep
 * their own copies of these names (C and dependency-free CommonJS cannot import this file);
 * test/unit/contract-shims.test.ts fails when they drift.
 */
export const LAYOUT = {
  /** The socket git >= 2.55 itself looks for, in each worktree's git dir. */
  socket: 'fsmonitor--daemon.ipc',
  /** Everything else of ours lives in this one folder of the git dir. */
  stateDir: 'fsmond',
  /** Below the state dir, two levels below the git dir: IDEs watching `.git/` flat ignore it. */
  cookieDir: 'cookies',
  /** One line, the socket's absolute path, when it could not go into the git dir. */
  socketPointer: 'socket',
  /** One line, why the last start was refused for a lasting reason. */
  refused: 'refused',
  /** The shims' flock: one of them starts the daemon, the others wait for it. */
  spawnLock: 'spawn.lock',
  log: 'daemon.log',
  /**
   * Left by a shim whose daemon accepted but did not answer in time; while it exists the
   * shims wait only briefly. The daemon removes it whenever it answers.
   */
  unresponsive: 'unresponsive',
  /**
   * One decimal line, fsmond.smallRepoEntries, written by a daemon that starts in a small
   * repository: while the index holds fewer entries than that, the shims answer `/` without
   * asking (git's own rescan is then cheaper than the round trip).
   */
  smallRepo: 'small-repo',
} as const;

/** How long a recorded refusal stops the shims from starting a daemon that would refuse again. */
export const REFUSED_FRESH_MS = 60_000;

export function stateDirFor(gitDir: string): string {
  return path.join(gitDir, LAYOUT.stateDir);
}

/** Inside the state dir: `stateFile(gitDir, 'log')` and so on. */
export function stateFile(
  gitDir: string,
  name: Exclude<keyof typeof LAYOUT, 'socket' | 'stateDir'>,
): string {
  return path.join(stateDirFor(gitDir), LAYOUT[name]);
}

/** The socket git >= 2.55 looks for, per worktree. */
export function socketPathFor(gitDir: string): string {
  return path.join(gitDir, LAYOUT.socket);
}

/**
 * Where a running daemon of this git dir listens, found as the shims find it: the socket in
 * the git dir, or, when nothing is there, the absolute path the socket pointer names.
 */
export function findSocket(gitDir: string): string {
  const inGitDir = socketPathFor(gitDir);
  if (fs.lstatSync(inGitDir, { throwIfNoEntry: false })) return inGitDir;
  try {
    const named = fs.readFileSync(stateFile(gitDir, 'socketPointer'), 'utf8').trim();
    if (path.isAbsolute(named)) return named;
  } catch {
    // no pointer: the git dir it is
  }
  return inGitDir;
}
