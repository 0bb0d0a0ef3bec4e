/** Starting a daemon for a person at a terminal: `start`, `restart` and `enable`. */

import { setTimeout as sleep } from 'node:timers/promises';
import type { DaemonStatus } from '../contract/index.js';
import type { RepoInfo } from '../git/index.js';
import { fetchStatus, startDaemon } from './control.js';
import { startActivated } from './ipc-mode.js';
import { Progress } from './progress.js';

/** A first registration of a few million directories takes minutes on a slow disk. */
export const START_TIMEOUT_MS = 300_000;

/**
 * Starts a detached daemon (under IPC mode: lets systemd start it) and, unless `untilWatching` is false, waits until every watch is
 * registered, with progress on stderr: then `status` (exit 0 only when watching) succeeds
 * right after, as it does for git's own daemon.
 */
export async function startWithProgress(
  repo: RepoInfo,
  untilWatching = true,
): Promise<DaemonStatus> {
  const progress = new Progress(process.stderr);
  try {
    const activated = await startActivated(repo);
    if (activated) return await untilActivatedWatching(repo, activated, untilWatching, progress);
    return await startDaemon(repo, {
      timeoutMs: START_TIMEOUT_MS,
      waitWatching: untilWatching,
      onProgress: (p) => showProgress(progress, p),
    });
  } finally {
    progress.done();
  }
}

function showProgress(progress: Progress, s: DaemonStatus): void {
  if (!s.watching) progress.update(`registering watches: ${s.watchedDirectories} directories`);
}

/** Under IPC mode systemd starts the daemon: wait for its watches as for a detached one. */
async function untilActivatedWatching(
  repo: RepoInfo,
  first: DaemonStatus,
  untilWatching: boolean,
  progress: Progress,
): Promise<DaemonStatus> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  let s = first;
  while (untilWatching && !s.watching && Date.now() < deadline) {
    showProgress(progress, s);
    await sleep(100);
    s = (await fetchStatus(repo)) ?? s;
  }
  return s;
}

/** What `start` and `restart` print once the daemon is up. */
export function startedLine(s: DaemonStatus, repo: RepoInfo): string {
  if (s.watching) {
    return `started daemon (pid ${s.pid}), watching ${s.watchedDirectories} directories in '${repo.worktree}'`;
  }
  return `started daemon (pid ${s.pid}) for '${repo.worktree}', registering its watches in the background`;
}
