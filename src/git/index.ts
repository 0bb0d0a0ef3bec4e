export type { FsInfo } from './filesystem.js';
export { filesystemOf } from './filesystem.js';
export type { RepoInfo } from './repo.js';
export { configBool, configInt, discoverRepo, RepoError, readConfig } from './repo.js';

import path from 'node:path';

/** The socket git >= 2.55 looks for, per worktree. */
export function socketPathFor(gitDir: string): string {
  return path.join(gitDir, 'fsmonitor--daemon.ipc');
}

/** Our own state (log, cookies, spawn lock) lives in one folder of the worktree's git dir. */
export function stateDirFor(gitDir: string): string {
  return path.join(gitDir, 'fsmond');
}

/** Two levels below the git dir, so IDEs watching `.git/` non-recursively do not loop on it. */
export function cookieDirFor(gitDir: string): string {
  return path.join(stateDirFor(gitDir), 'cookies');
}
