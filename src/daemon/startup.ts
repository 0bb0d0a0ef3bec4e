import fs from 'node:fs';
import { stateDirFor, stateFile } from '../contract/index.js';
import {
  filesystemOf,
  RepoError,
  type RepoErrorCode,
  type RepoInfo,
  type SocketLocation,
  socketLocationFor,
} from '../git/index.js';
import type { Settings } from './settings.js';

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
 * `<gitdir>/fsmond/` and its cookie dir: real directories of ours, mode 0700. A symlink planted
 * there would make us write (and chmod) wherever it points, so that is a refusal.
 */
export function prepareStateDir(gitDir: string): void {
  for (const dir of [stateDirFor(gitDir), stateFile(gitDir, 'cookieDir')]) ownDir(dir, gitDir);
}

/** `<gitdir>/fsmond/` as a real directory of ours, mode 0700; throws RepoError otherwise. */
export function ownStateDir(gitDir: string): void {
  ownDir(stateDirFor(gitDir), gitDir);
}

function ownDir(dir: string, gitDir: string): void {
  try {
    fs.mkdirSync(dir, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new RepoError(`cannot create '${dir}': ${(err as Error).message}`, 'unsafe');
    }
  }
  const st = fs.lstatSync(dir);
  if (!st.isDirectory()) {
    const what = st.isSymbolicLink() ? 'a symlink' : 'not a directory';
    throw new RepoError(`'${dir}' is ${what}; refusing to use it`, 'unsafe', { gitDir });
  }
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) {
    throw new RepoError(`'${dir}' belongs to uid ${st.uid}; refusing to use it`, 'unsafe', {
      gitDir,
    });
  }
  if ((st.mode & 0o777) !== 0o700) fs.chmodSync(dir, 0o700);
}

export function isLasting(err: RepoError): boolean {
  return LASTING.has(err.code) && err.gitDir !== undefined;
}

/** Best effort: `<gitdir>/fsmond/refused`, one line, 0600; never through a symlink. */
export function recordRefusal(gitDir: string, reason: string): boolean {
  try {
    ownStateDir(gitDir);
    const { O_WRONLY, O_CREAT, O_TRUNC, O_NOFOLLOW } = fs.constants;
    const fd = fs.openSync(
      stateFile(gitDir, 'refused'),
      O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW,
      0o600,
    );
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

export function clearRefusal(gitDir: string): void {
  fs.rmSync(stateFile(gitDir, 'refused'), { force: true });
}
