/** Repositories too small for any monitor to pay back (README "Small repositories"). */
import { entriesBelow, SETTINGS, settingsFrom } from '../daemon/index.js';
import { type RepoInfo, readConfig } from '../git/index.js';

export interface TooSmall {
  entries: number;
  limit: number;
}

/**
 * Below fsmond.enableMinEntries index entries; null when not (or the size is unknown).
 * `config` is the repository's, as readConfig gives it, when the caller has it already.
 */
export async function tooSmallForMonitor(
  repo: RepoInfo,
  config?: Map<string, string>,
): Promise<TooSmall | null> {
  const limit = settingsFrom(config ?? (await readConfig(repo.worktree))).enableMinEntries;
  const entries = entriesBelow(repo.gitDir, limit);
  return entries === null ? null : { entries, limit };
}

export function declinedLine(s: TooSmall): string {
  return (
    `left this repository alone: its index has ${s.entries} entries, below ` +
    `${SETTINGS.enableMinEntries.key} (${s.limit}), and git scans a repository this small ` +
    'faster than it runs any monitor; `git fsmond enable --force` enables it anyway, or run ' +
    '`git fsmond enable` again once it has grown'
  );
}
