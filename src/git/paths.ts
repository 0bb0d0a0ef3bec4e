import path from 'node:path';

/** Our own state (log, cookies, spawn lock) lives in one folder of the worktree's git dir. */
export function stateDirFor(gitDir: string): string {
  return path.join(gitDir, 'fsmond');
}

/** Two levels below the git dir, so IDEs watching `.git/` non-recursively do not loop on it. */
export function cookieDirFor(gitDir: string): string {
  return path.join(stateDirFor(gitDir), 'cookies');
}

/**
 * Written when the socket is not in the git dir (see socketLocationFor): one line, its absolute
 * path. The shims read it only when `<gitdir>/fsmonitor--daemon.ipc` is missing.
 */
export function socketPointerFor(gitDir: string): string {
  return path.join(stateDirFor(gitDir), 'socket');
}

/**
 * Written by a daemon that refuses to start for a lasting reason (one line: the reason). While
 * it is fresh the shims answer `/` at once instead of starting a daemon that would refuse again.
 */
export function refusedFileFor(gitDir: string): string {
  return path.join(stateDirFor(gitDir), 'refused');
}
