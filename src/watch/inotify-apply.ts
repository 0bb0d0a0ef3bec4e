/**
 * Turning inotify events into reported paths and an up-to-date directory tree.
 *
 * The rules, in short:
 * - every named event reports its path (a nested `.git` reports the directory holding it;
 *   the root's `.git` is never reported and its removal is fatal);
 * - a directory created or moved in is watched, then listed, and everything beneath it is
 *   reported (scanSync); a moved directory is recognised by its wd and re-keyed, not rescanned
 *   under stale paths;
 * - IN_MOVED_FROM detaches a directory's node; it is re-attached when add_watch on a new path
 *   returns its wd, or dropped after a while (moved out of the worktree).
 * Reporting extra paths is always safe; missing one is the only sin.
 */
import { lstatSync } from 'node:fs';
import { type DirNode, joinRel } from './dir-tree.js';
import { FatalError, isDenied, isGone, SyncLostError } from './errors.js';
import type { InotifyEvent } from './inotify-events.js';
import type { Generation } from './inotify-generation.js';
import {
  addWatch,
  DIR_MASK,
  IN_ATTRIB,
  IN_CREATE,
  IN_DELETE,
  IN_DELETE_SELF,
  IN_IGNORED,
  IN_ISDIR,
  IN_MODIFY,
  IN_MOVE_SELF,
  IN_MOVED_FROM,
  IN_MOVED_TO,
  IN_Q_OVERFLOW,
  IN_UNMOUNT,
  rmWatch,
  watchAtFor,
  watchLimitDetail,
  watchLimitMessage,
} from './inotify-sys.js';
import { type ScanHost, scanSync } from './scanner.js';
import type { WatchBatch } from './types.js';

/** Cap on names remembered per directory while its location is unknown. */
const PENDING_CAP = 10_000;

type Level = 'debug' | 'info' | 'warn' | 'error';

export class EventApplier {
  constructor(
    /** Absolute worktree root, latin1, no trailing slash. */
    private readonly root: string,
    private readonly log: (level: Level, msg: string) => void,
    /** A warning worth surfacing as stats().lastError. */
    private readonly note: (level: 'warn' | 'error', msg: string) => void,
  ) {}

  /** Apply one event to the tree, reporting into `batch`. Throws to end the generation. */
  apply(gen: Generation, ev: InotifyEvent, batch: WatchBatch): void {
    const { wd, mask } = ev;
    if (mask & IN_Q_OVERFLOW) throw new SyncLostError('inotify queue overflow', 'overflow');
    if (mask & IN_UNMOUNT) throw new FatalError('a filesystem under the worktree was unmounted');
    if (wd === gen.cookieWd) {
      this.onCookieEvent(gen, ev, batch);
      return;
    }
    if (wd === gen.gitDirWd) {
      if (mask & IN_DELETE_SELF) throw new FatalError('git dir removed');
      if (mask & IN_MOVE_SELF) throw new FatalError('git dir renamed');
      if (mask & IN_IGNORED) throw new FatalError('git dir watch lost');
      return;
    }
    const tree = gen.tree;
    const node = tree.byWd.get(wd);
    // Unknown wd: a late event of a watch we removed. It means nothing any more.
    if (!node) return;
    if (node === tree.root) {
      if (mask & IN_DELETE_SELF) throw new FatalError('worktree root deleted');
      if (mask & IN_MOVE_SELF) throw new FatalError('worktree root renamed');
      if (mask & IN_IGNORED) throw new FatalError('worktree root watch lost');
    }
    if (mask & (IN_DELETE_SELF | IN_IGNORED)) {
      // The directory is gone; its parent's IN_DELETE carries the name. Report it anyway.
      const p = tree.pathOf(node);
      if (p) batch.paths.push(p);
      tree.remove(node, (w) => gen.queueRm(w));
      return;
    }
    if (ev.name === null) {
      // The parents' IN_MOVED_FROM/IN_MOVED_TO say where a moved directory went.
      if (mask & IN_MOVE_SELF) return;
      // touch/chmod of the directory itself: its own path, and nothing for the root.
      const p = tree.pathOf(node);
      if (p) batch.paths.push(p);
      // Its search (x) permission may have come back: directories below it that we could
      // not reach through it may be watchable now.
      if (mask & IN_ATTRIB && p !== null) {
        for (const holder of tree.opaqueHoldersUnder(node)) this.retryOpaque(gen, holder, batch);
      }
      return;
    }
    this.onNamed(gen, node, ev.name, mask, batch);
  }

  private onNamed(
    gen: Generation,
    dir: DirNode,
    name: string,
    mask: number,
    batch: WatchBatch,
  ): void {
    const tree = gen.tree;
    const loc = tree.locate(dir);
    if (loc.top !== tree.root) {
      // Location unknown right now: remember the name in case the directory is re-attached.
      tree.notePending(dir, name, PENDING_CAP);
      return;
    }
    const dirRel = loc.rel;
    if (name === '.git') {
      if (dir === tree.root) {
        if (mask & IN_DELETE) throw new FatalError('.git removed');
        if (mask & IN_MOVED_FROM) throw new FatalError('.git renamed');
        // A .git file (linked worktree) replaced by rename may now point elsewhere.
        if (mask & IN_MOVED_TO) throw new FatalError('.git replaced');
        return;
      }
      // A nested repository: git ignores paths with a .git component, but the listing of the
      // directory holding it must be invalidated so git re-checks it.
      batch.paths.push(dirRel);
      return;
    }
    const rel = joinRel(dirRel, name);
    batch.paths.push(rel);
    const isDir = (mask & IN_ISDIR) !== 0;
    const known = dir.children?.get(name);
    if (mask & IN_MOVED_FROM) {
      // If the directory reappears inside the worktree, add_watch on its new path returns
      // this wd and re-attaches it; if not, it is dropped after detachHoldMs (moved out).
      if (known) tree.detach(known, Date.now());
      // An opaque one moved within the worktree is found again by its IN_MOVED_TO.
      tree.clearOpaque(dir, name);
      return;
    }
    if (mask & (IN_CREATE | IN_MOVED_TO | IN_DELETE)) {
      if (isDir || known) this.reconcile(gen, dir, dirRel, name, rel, batch.paths);
      return;
    }
    // IN_MODIFY/IN_ATTRIB: re-check only if the kind disagrees with the tree.
    if (mask & (IN_MODIFY | IN_ATTRIB) && isDir !== (known !== undefined)) {
      this.reconcile(gen, dir, dirRel, name, rel, batch.paths);
    }
  }

  /**
   * Make the tree match what is at dir/name now: watch it and report everything beneath it
   * if it is a directory (created, moved in, or moved within), detach the node otherwise.
   */
  private reconcile(
    gen: Generation,
    dir: DirNode,
    dirRel: string,
    name: string,
    rel: string,
    out: string[],
  ): void {
    const node = gen.host.watchChild(dir, dirRel, name, out);
    if (node) scanSync(gen.host, node, rel, out);
  }

  private retryOpaque(gen: Generation, dir: DirNode, batch: WatchBatch): void {
    const dirRel = gen.tree.pathOf(dir);
    if (dirRel === null) return;
    for (const name of [...(dir.opaque ?? [])]) {
      const rel = joinRel(dirRel, name);
      batch.paths.push(rel);
      this.reconcile(gen, dir, dirRel, name, rel, batch.paths);
    }
  }

  private onCookieEvent(gen: Generation, ev: InotifyEvent, batch: WatchBatch): void {
    if (ev.name !== null) {
      batch.cookies.push(ev.name);
      return;
    }
    if (ev.mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) {
      rmWatch(gen.fd, gen.cookieWd);
      gen.cookieWd = -1;
      this.note('warn', 'cookie dir removed or renamed; waiting for rewatchCookieDir()');
    }
  }

  scanHost(gen: Generation): ScanHost {
    return {
      tree: gen.tree,
      abs: (rel) => this.abs(rel),
      watchChild: (parent, parentRel, name, out) => {
        const r = addWatch(gen.fd, this.abs(joinRel(parentRel, name)), DIR_MASK);
        return this.adoptChild(gen, parent, () => parentRel, name, r, out);
      },
      watchAt: watchAtFor(gen.fd, DIR_MASK),
      adoptChild: (parent, parentRel, name, r) =>
        this.adoptChild(gen, parent, parentRel, name, r, null),
      flushPending: (node, rel, out) => {
        const p = gen.tree.takePending(node);
        if (!p) return;
        if (p.lossy)
          throw new SyncLostError(`too many changes in moved directory '${rel}'`, 'error');
        for (const n of p.names) out.push(joinRel(rel, n));
      },
      unreadable: (node, rel, code) => this.makeOpaque(gen, node, rel, code),
      log: (level, msg) => this.log(level, msg),
    };
  }

  /**
   * A watched directory we may not list after all (its mode changed between add_watch and
   * the listing, or an LSM says no): its watch cannot tell us what is beneath it, so it
   * becomes opaque like one we could not watch.
   */
  private makeOpaque(gen: Generation, node: DirNode, rel: string, code: string): void {
    const parent = node.parent;
    if (node === gen.tree.root || !parent) {
      throw new SyncLostError(`cannot list the worktree root: ${code}`, 'limit');
    }
    this.log('info', `directory '${rel}' cannot be listed (${code}): reported in every answer`);
    const name = node.name;
    gen.tree.remove(node, (w) => gen.queueRm(w));
    gen.tree.markOpaque(parent, name);
  }

  /**
   * Give add_watch(parent/name)'s result its place in the tree. The path is worked out only
   * where it is needed: the helper's results arrive without one.
   */
  private adoptChild(
    gen: Generation,
    parent: DirNode,
    parentRel: () => string,
    name: string,
    r: number | string,
    out: string[] | null,
  ): DirNode | null {
    const tree = gen.tree;
    const existing = parent.children?.get(name);
    if (typeof r === 'string') {
      const rel = joinRel(parentRel(), name);
      if (isDenied(r)) {
        // git cannot list it either. Whatever node had this name may not be this directory
        // any more (add_watch would have said), so it is detached like a moved one.
        if (existing) tree.detach(existing, Date.now());
        if (!parent.opaque?.has(name)) {
          this.log('info', `directory '${rel}' cannot be watched (${r}): reported in every answer`);
        }
        tree.markOpaque(parent, name);
        return null;
      }
      if (!isGone(r)) throw watchFailed(r, rel, gen.tree.size + 2);
      // Gone (or now a symlink): if it turns up elsewhere its event re-attaches the node.
      if (existing) tree.detach(existing, Date.now());
      tree.clearOpaque(parent, name);
      return null;
    }
    gen.keep(r);
    if (parent.opaque?.has(name)) {
      this.log('info', `directory '${joinRel(parentRel(), name)}' can be watched again`);
      tree.clearOpaque(parent, name);
    }
    if (r === gen.cookieWd || r === gen.gitDirWd) {
      // The git dir inside the worktree under another name: never report inside it.
      if (existing) tree.detach(existing, Date.now());
      return null;
    }
    if (r === tree.root.wd) {
      throw new SyncLostError(
        `'${joinRel(parentRel(), name)}' is the worktree root itself (bind mount?)`,
        'error',
      );
    }
    const known = tree.byWd.get(r);
    if (known && known === existing) return known;
    if (existing) tree.detach(existing, Date.now());
    if (!known) return tree.add(parent, name, r);
    // Same wd = same inode, already in the tree under another name: it moved and its events
    // are still queued (or it was detached by IN_MOVED_FROM). Re-key the one node; every
    // descendant's path follows. Only a bind mount shows one directory at two paths at once.
    const was = tree.locate(known);
    const rel = joinRel(parentRel(), name);
    if (was.top === tree.root) {
      if (sameInode(this.abs(was.rel), this.abs(rel))) {
        throw new SyncLostError(
          `directory '${rel}' is also at '${was.rel}' (bind mount?); cannot watch both`,
          'error',
        );
      }
      out?.push(was.rel);
      this.log('debug', `re-keyed '${was.rel}' as '${rel}' ahead of its move events`);
    } else {
      this.log('debug', `re-attached a detached directory as '${rel}'`);
    }
    tree.move(known, parent, name);
    return known;
  }

  abs(rel: string): string {
    if (rel === '') return this.root;
    return this.root === '/' ? `/${rel}` : `${this.root}/${rel}`;
  }
}

/**
 * ENOSPC is the watch table; anything else on a directory that exists we cannot vouch for.
 * `held`: watches this watcher holds so far, for the message.
 */
export function watchFailed(code: string, rel: string, held: number): SyncLostError {
  if (code === 'ENOSPC') {
    return new SyncLostError(watchLimitMessage(), 'limit', watchLimitDetail(held));
  }
  // Only the root and the git dir get here with EACCES: nothing can be watched without them,
  // and retrying at once would only repeat the answer.
  const kind = isDenied(code) ? 'limit' : 'error';
  return new SyncLostError(`cannot watch directory '${rel || '.'}': ${code}`, kind);
}

function sameInode(a: string, b: string): boolean {
  try {
    const sa = lstatSync(Buffer.from(a, 'latin1'), { bigint: true });
    const sb = lstatSync(Buffer.from(b, 'latin1'), { bigint: true });
    return sa.ino === sb.ino && sa.dev === sb.dev;
  } catch {
    return false;
  }
}
