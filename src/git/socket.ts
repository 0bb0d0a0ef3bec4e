import os from 'node:os';
import path from 'node:path';
import { socketPathFor } from '../contract/index.js';
import * as afs from '../sys/fs-async.js';
import { sha1Hex } from '../sys/sha1.js';
import { filesystemOf } from './filesystem.js';
import { RepoError, type RepoInfo } from './repo.js';

export interface SocketLocation {
  path: string;
  /** Not in the git dir: the shims find it through the state dir's socket pointer. */
  relocated: boolean;
}

/**
 * Where the socket goes, by git's rule (fsm-ipc-unix.c, fsm-settings-unix.c): in the git dir,
 * unless that is on a filesystem that cannot hold one; then
 * `<fsmonitor.socketDir or $HOME>/.git-fsmonitor-<sha1hex(worktree)>`, so that git's own
 * clients find it too. A socket directory that cannot hold one either is a refusal.
 */
export async function socketLocationFor(
  repo: RepoInfo,
  socketDir: string | undefined,
): Promise<SocketLocation> {
  const here = await filesystemOf(repo.gitDir).catch(() => null);
  // Like git, an error counts as "local": binding will tell.
  if (!here || here.sockets) return { path: socketPathFor(repo.gitDir), relocated: false };
  const dir = expandHome(socketDir?.trim() || os.homedir() || '');
  const why = `git dir '${repo.gitDir}' is on ${here.name}, which cannot hold the daemon's socket`;
  if (!dir || !path.isAbsolute(dir)) {
    throw new RepoError(`${why}; set fsmonitor.socketDir to a local directory`, 'nosockets', {
      gitDir: repo.gitDir,
    });
  }
  const there = await afs.stat(dir).then(
    async (st) => (st.isDirectory() ? filesystemOf(dir) : null),
    () => null,
  );
  if (!there?.sockets) {
    throw new RepoError(
      `${why}, and socket directory '${dir}' is ${there ? `on ${there.name}, ` : 'not a directory, '}incompatible with fsmonitor due to lack of Unix sockets support; set fsmonitor.socketDir to a local directory`,
      'nosockets',
      { gitDir: repo.gitDir },
    );
  }
  const hash = sha1Hex(repo.worktree);
  return { path: path.join(dir, `.git-fsmonitor-${hash}`), relocated: true };
}

/** git's interpolate_path for the forms a config value uses: `~` and `~/…`. */
function expandHome(p: string): string {
  if (p === '~' || p.startsWith('~/')) return path.join(os.homedir(), p.slice(1));
  return p;
}
