/** Repositories too small for any monitor to pay back (README "Small repositories"). */
import { indexEntries, SETTINGS, settingsFrom } from '../daemon/index.js';
import { type RepoInfo, readConfig } from '../git/index.js';

export interface TooSmall {
  entries: number;
  limit: number;
}

/** Below fsmond.enableMinEntries index entries; null when not (or the size is unknown). */
export async function tooSmallForMonitor(repo: RepoInfo): Promise<TooSmall | null> {
  const limit = settingsFrom(await readConfig(repo.worktree)).enableMinEntries;
  if (limit <= 0) return null;
  const entries = indexEntries(repo.gitDir);
  return entries !== null && entries < limit ? { entries, limit } : null;
}

export function declinedLine(s: TooSmall): string {
  return (
    `left this repository alone: its index has ${s.entries} entries, below ` +
    `${SETTINGS.enableMinEntries.key} (${s.limit}), and git scans a repository this small ` +
    'faster than it runs any monitor; `git fsmond enable --force` enables it anyway, or run ' +
    '`git fsmond enable` again once it has grown'
  );
}
