import fs from 'node:fs';
import {
  filesystemOf,
  RepoError,
  type RepoErrorCode,
  type RepoInfo,
  type SocketLocation,
  socketLocationFor,
} from '../git/index.js';
import type { Settings } from './settings.js';
import { StateDir } from './state-dir.js';

/**
 * Refusals that a retry a moment later would only repeat. They are recorded in the git dir so
 * the shims answer `/` at once instead of making every git command wait for a start that fails.
 */
const LASTING: ReadonlySet<RepoErrorCode> = new Set(['bare', 'remote', 'nosockets', 'unsafe']);

/** git's checks before it monitors a worktree (docs/protocol.md#checks); where the socket goes. */
export async function preflight(repo: RepoInfo, settings: Settings): Promise<SocketLocation> {
  const fsInfo = await filesystemOf(repo.worktree);
  if (fsInfo.remote && !settings.allowRemote) {
    throw new RepoError(
      `remote repository '${repo.worktree}' (${fsInfo.name}) is incompatible with fsmonitor; set fsmonitor.allowRemote=true to override`,
      'remote',
      { gitDir: repo.gitDir },
    );
  }
  return socketLocationFor(repo, settings.socketDir);
}

/**
 * `<gitdir>/fsmond/` and its cookie dir, real directories of ours, mode 0700, opened once: every
 * later file operation goes through the handle (a planted or swapped-in symlink there would make
 * us write, rotate and chmod wherever it points).
 */
export function prepareStateDir(gitDir: string): StateDir {
  const dir = StateDir.open(gitDir);
  try {
    dir.ownSubdir('cookieDir');
    return dir;
  } catch (err) {
    dir.close();
    throw err;
  }
}

export function isLasting(err: RepoError): boolean {
  return LASTING.has(err.code) && err.gitDir !== undefined;
}

/** Best effort: `<gitdir>/fsmond/refused`, one line, 0600; never through a symlink. */
export function recordRefusal(dir: StateDir, reason: string): boolean {
  try {
    const { fd } = dir.openForWrite('refused', fs.constants.O_CREAT | fs.constants.O_TRUNC);
    try {
      fs.writeSync(fd, `${reason.replace(/\n/g, ' ')}\n`);
    } finally {
      fs.closeSync(fd);
    }
    return true;
  } catch {
    return false;
  }
}

export function clearRefusal(dir: StateDir): void {
  try {
    fs.rmSync(dir.file('refused'), { force: true });
  } catch {
    // not reachable safely any more: nothing of ours to remove
  }
}
