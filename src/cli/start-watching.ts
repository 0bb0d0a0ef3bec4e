/** Starting a daemon for a person at a terminal: `start`, `restart` and `enable`. */
import type { DaemonStatus } from '../contract/index.js';
import type { RepoInfo } from '../git/index.js';
import { startDaemon } from './control.js';
import { Progress } from './progress.js';

/** A first registration of a few million directories takes minutes on a slow disk. */
export const START_TIMEOUT_MS = 300_000;

/**
 * Starts a detached daemon and, unless `untilWatching` is false, waits until every watch is
 * registered, with progress on stderr: then `status` (exit 0 only when watching) succeeds
 * right after, as it does for git's own daemon.
 */
export async function startWithProgress(
  repo: RepoInfo,
  untilWatching = true,
): Promise<DaemonStatus> {
  const progress = new Progress(process.stderr);
  try {
    return await startDaemon(repo, {
      timeoutMs: START_TIMEOUT_MS,
      waitWatching: untilWatching,
      onProgress: (p) => {
        if (!p.watching)
          progress.update(`registering watches: ${p.watchedDirectories} directories`);
      },
    });
  } finally {
    progress.done();
  }
}

/** What `start` and `restart` print once the daemon is up. */
export function startedLine(s: DaemonStatus, repo: RepoInfo): string {
  if (s.watching) {
    return `started daemon (pid ${s.pid}), watching ${s.watchedDirectories} directories in '${repo.worktree}'`;
  }
  return `started daemon (pid ${s.pid}) for '${repo.worktree}', registering its watches in the background`;
}
