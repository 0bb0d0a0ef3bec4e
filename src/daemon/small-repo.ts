import fs from 'node:fs';
import path from 'node:path';
import type { StateDir } from './state-dir.js';

/**
 * Entries in the git dir's index, from its header ("DIRC", version, count); 0 without one.
 * A split index (a `sharedindex.*` beside it) counts only its changes: null, size unknown.
 */
export function indexEntries(gitDir: string): number | null {
  if (fs.readdirSync(gitDir).some((n) => n.startsWith('sharedindex.'))) return null;
  let fd: number;
  try {
    fd = fs.openSync(path.join(gitDir, 'index'), 'r');
  } catch {
    return 0;
  }
  try {
    const head = Buffer.alloc(12);
    const n = fs.readSync(fd, head, 0, 12, 0);
    return n === 12 && head.toString('latin1', 0, 4) === 'DIRC' ? head.readUInt32BE(8) : null;
  } finally {
    fs.closeSync(fd);
  }
}

/** The index's entry count when it is known and below `limit`; null otherwise or when `limit` is 0. */
export function entriesBelow(gitDir: string, limit: number): number | null {
  if (limit <= 0) return null;
  const entries = indexEntries(gitDir);
  return entries !== null && entries < limit ? entries : null;
}

/**
 * At start: below `limit` index entries, leave the limit in `fsmond/small-repo` for the
 * shims, which then answer `/` while the index stays that small (they read its header on
 * every query, so growth is seen at once); else remove it. The shims' `/` is always correct,
 * so a stale or lost file costs speed only. Best effort, never through a symlink.
 */
export function publishSmallRepo(stateDir: StateDir, gitDir: string, limit: number): void {
  try {
    if (entriesBelow(gitDir, limit) === null) {
      fs.rmSync(stateDir.file('smallRepo'), { force: true });
      return;
    }
    const { fd } = stateDir.openForWrite('smallRepo', fs.constants.O_CREAT | fs.constants.O_TRUNC);
    try {
      fs.writeSync(fd, `${limit}\n`);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // an unreadable git dir or a planted symlink: the shims keep asking, which is correct
  }
}
