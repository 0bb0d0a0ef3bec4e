/**
 * Listing directories and watching their subdirectories, in the order that closes the
 * new-directory race: a directory's watch is added BEFORE it is listed, so anything created
 * in it after the listing produces an event, and anything created before is listed.
 *
 * Two flavours:
 * - scanSync: inside event processing (a directory created, moved in, or re-attached). It is
 *   synchronous so that, by the time a later event such as a query's cookie is processed,
 *   everything before it has been reported and is watched.
 * - scanAsync (full-scan.ts): the initial scan and full rescans, in time slices that yield to
 *   the event loop, with a helper process on big trees. It reports nothing: it runs before any
 *   token.
 */
import { type DirNode, type DirTree, joinRel } from './dir-tree.js';
import { errCode, isDenied, isGone, SyncLostError } from './errors.js';
import { type Listing, listDir } from './list-dir.js';

export interface ScanHost {
  readonly tree: DirTree;
  /** Absolute latin1 path of a worktree-relative path ('' is the root). */
  abs(rel: string): string;
  /**
   * Watch the subdirectory parent/name that a listing just showed, and give it its node;
   * returns the node to list next, or null when there is nothing to descend into.
   */
  watchChild(
    parent: DirNode,
    parentRel: string,
    name: string,
    out: string[] | null,
  ): DirNode | null;
  /**
   * watchChild when add_watch already ran (in the scan helper) and gave `result`; the path is
   * only worked out when a message or a rare case needs it.
   */
  adoptChild(
    parent: DirNode,
    parentRel: () => string,
    name: string,
    result: number | string,
  ): DirNode | null;
  /** add_watch for a subdirectory at absolute path src[from, to). */
  watchAt(src: Buffer, from: number, to: number): number | string;
  /** Report the names a node collected while it was detached. */
  flushPending(node: DirNode, rel: string, out: string[]): void;
  /** The attached `node` at `rel` is watched but may not be listed (EACCES/EPERM). */
  unreadable(node: DirNode, rel: string, code: string): void;
  log(level: 'debug' | 'info' | 'warn', msg: string): void;
}

/** The root's is the repository; any other is a nested repository. Never look inside. */
export const DOT_GIT = '.git';

/** Scan below `start` (already watched), reporting every entry beneath it into `out`. */
export function scanSync(host: ScanHost, start: DirNode, startRel: string, out: string[]): void {
  const stack: Array<[DirNode, string]> = [[start, startRel]];
  for (let item = stack.pop(); item; item = stack.pop()) {
    const [node, rel] = item;
    // Removed, or moved by a later step of this scan (then it was pushed again at its new
    // path): listing `rel` now could show another directory's entries.
    if (!host.tree.isLive(node) || host.tree.pathOf(node) !== rel) continue;
    host.flushPending(node, rel, out);
    // Unreadable: `rel` itself is in `out` already (its entry was listed, or its event named it).
    const entries = listWatched(host, node, rel, true);
    if (!entries) continue;
    for (const name of entries.files) if (name !== DOT_GIT) out.push(joinRel(rel, name));
    visit(host.tree, node, entries.dirs, (name) => {
      const childRel = joinRel(rel, name);
      out.push(childRel);
      const child = host.watchChild(node, rel, name, out);
      if (child) stack.push([child, childRel]);
    });
  }
}

/**
 * The listing of watched directory `node` at `rel`, or null when there is nothing to descend
 * into: gone already (its removal is queued as an event on the parent), or not ours to read
 * (then made unreadable through the host). Any other failure loses sync.
 */
export function listWatched(
  host: ScanHost,
  node: DirNode,
  rel: string,
  withFiles: boolean,
): Listing | null {
  try {
    return listDir(host.abs(rel), withFiles);
  } catch (err) {
    const code = errCode(err);
    if (isGone(code)) return null;
    if (!isDenied(code)) throw listFailed(rel, code ?? String(err));
    host.unreadable(node, rel, code!);
    return null;
  }
}

/**
 * Hand `each` every subdirectory name of `node`'s new listing but `.git`, then forget the
 * known subdirectories the listing no longer shows.
 */
export function visit(
  tree: DirTree,
  node: DirNode,
  names: readonly string[],
  each: (name: string, i: number) => void,
): void {
  const listed = node.children || node.opaque ? new Set<string>() : null;
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    if (name === DOT_GIT) continue;
    listed?.add(name);
    each(name, i);
  }
  if (!listed) return;
  // Known subdirectories that are not listed any more were moved or deleted after their last
  // event we processed. Detach (not drop): if one turns up elsewhere, its queued event finds
  // the same wd and re-attaches it with no gap in watching.
  const now = Date.now();
  for (const [name, child] of [...(node.children ?? [])]) {
    if (!listed.has(name)) tree.detach(child, now);
  }
  // Opaque ones gone while this node was detached (their events only noted the name).
  for (const name of [...(node.opaque ?? [])]) {
    if (!listed.has(name)) tree.clearOpaque(node, name);
  }
}

export function listFailed(rel: string, code: string): SyncLostError {
  return new SyncLostError(`cannot list directory '${rel || '.'}': ${code}`, 'error');
}
