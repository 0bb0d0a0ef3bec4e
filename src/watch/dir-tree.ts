/**
 * The watched directories, as a tree of nodes keyed by inotify watch descriptor.
 *
 * A node stores its name and parent, never its path: a path is computed by walking up. So when
 * a directory is renamed, moving its one node moves every descendant's path with it, which is
 * what git 2.55 gets wrong (docs/protocol.md#bug-a: subdirectory watches keep the old prefix).
 * Only directories are stored, never files, so memory stays small at 1M files / 67k dirs.
 *
 * A subtree whose location is unknown (moved out, or moved somewhere we have not processed
 * yet) is "detached": its watches stay alive for a while so that, if the inode reappears
 * inside the worktree, add_watch returns the same wd and the node is re-attached.
 */
export class DirNode {
  name: string;
  parent: DirNode | null;
  /** Subdirectories; null until the first one is added (most directories are leaves). */
  children: Map<string, DirNode> | null = null;
  /** Subdirectories that exist but may not be watched or listed (see DirTree.markOpaque). */
  opaque: Set<string> | null = null;
  readonly wd: number;

  constructor(name: string, parent: DirNode | null, wd: number) {
    this.name = name;
    this.parent = parent;
    this.wd = wd;
  }
}

export interface Located {
  /** The tree root when attached, otherwise the top of the detached subtree. */
  top: DirNode;
  /** Path below `top`, '/'-separated; '' for `top` itself. */
  rel: string;
}

interface Pending {
  names: string[];
  lossy: boolean;
}

export function joinRel(dir: string, name: string): string {
  return dir === '' ? name : `${dir}/${name}`;
}

export class DirTree {
  readonly root: DirNode;
  readonly byWd = new Map<number, DirNode>();
  /** Top of each detached subtree, with the time it was detached. */
  readonly detached = new Map<DirNode, number>();
  /** Entry names seen by nodes while they were detached, reported when re-attached. */
  private readonly pending = new Map<DirNode, Pending>();
  /** Nodes with a non-empty `opaque` set. */
  private readonly opaqueHolders = new Set<DirNode>();
  /**
   * Counts moves and detaches: while it stays the same, every attached node keeps its path, so
   * a path worked out earlier still names the same node.
   */
  reshapes = 0;

  constructor(rootWd: number) {
    this.root = new DirNode('', null, rootWd);
    this.byWd.set(rootWd, this.root);
  }

  get size(): number {
    return this.byWd.size;
  }

  locate(node: DirNode): Located {
    const parts: string[] = [];
    let n = node;
    while (n.parent) {
      parts.push(n.name);
      n = n.parent;
    }
    return { top: n, rel: parts.reverse().join('/') };
  }

  /** The worktree-relative path of an attached node ('' for the root), else null. */
  pathOf(node: DirNode): string | null {
    const loc = this.locate(node);
    return loc.top === this.root ? loc.rel : null;
  }

  /** Still known by its wd (not removed since the caller got hold of it). */
  isLive(node: DirNode): boolean {
    return this.byWd.get(node.wd) === node;
  }

  add(parent: DirNode, name: string, wd: number): DirNode {
    const node = new DirNode(name, parent, wd);
    if (!parent.children) parent.children = new Map();
    parent.children.set(name, node);
    this.byWd.set(wd, node);
    return node;
  }

  /**
   * Put `node` (attached elsewhere, detached, or inside a detached subtree) at parent/name.
   * The caller has made sure parent has no child of that name.
   */
  move(node: DirNode, parent: DirNode, name: string): void {
    for (let p: DirNode | null = parent; p; p = p.parent) {
      // The kernel cannot nest a directory inside itself; if our tree says so it is stale.
      if (p === node) throw new Error(`directory tree inconsistent at ${name}`);
    }
    this.unlink(node);
    this.reshapes++;
    node.name = name;
    node.parent = parent;
    if (!parent.children) parent.children = new Map();
    parent.children.set(name, node);
  }

  detach(node: DirNode, now: number): void {
    if (node === this.root) throw new Error('cannot detach the root');
    this.unlink(node);
    this.reshapes++;
    this.detached.set(node, now);
  }

  /** Forget a subtree; `onWd` gets every wd so the caller can inotify_rm_watch it. */
  remove(node: DirNode, onWd: (wd: number) => void): void {
    this.unlink(node);
    const stack = [node];
    for (let n = stack.pop(); n; n = stack.pop()) {
      if (this.byWd.get(n.wd) === n) this.byWd.delete(n.wd);
      this.pending.delete(n);
      this.detached.delete(n);
      this.opaqueHolders.delete(n);
      onWd(n.wd);
      if (n.children) for (const c of n.children.values()) stack.push(c);
    }
  }

  /** Drop detached subtrees older than holdMs; returns how many detached subtrees remain. */
  expire(now: number, holdMs: number, onWd: (wd: number) => void): number {
    for (const [node, since] of [...this.detached]) {
      if (now - since >= holdMs) this.remove(node, onWd);
    }
    return this.detached.size;
  }

  /** Remember that `name` changed in `node` while its location was unknown. */
  notePending(node: DirNode, name: string, cap: number): void {
    let p = this.pending.get(node);
    if (!p) {
      p = { names: [], lossy: false };
      this.pending.set(node, p);
    }
    if (p.names.length < cap) p.names.push(name);
    else p.lossy = true;
  }

  takePending(node: DirNode): Pending | undefined {
    const p = this.pending.get(node);
    if (p) this.pending.delete(node);
    return p;
  }

  /**
   * parent/name is a directory we may not read: it has no node and no watch, and what is
   * beneath it is unknown. Kept on the parent by name, so its path follows the parent's moves
   * and it goes with the parent's subtree.
   */
  markOpaque(parent: DirNode, name: string): void {
    if (!parent.opaque) parent.opaque = new Set();
    parent.opaque.add(name);
    this.opaqueHolders.add(parent);
  }

  clearOpaque(parent: DirNode, name: string): void {
    if (!parent.opaque?.delete(name)) return;
    if (parent.opaque.size > 0) return;
    parent.opaque = null;
    this.opaqueHolders.delete(parent);
  }

  /**
   * Paths of the opaque directories inside the worktree. Those below a detached node are left
   * out: at a query every event before its cookie has been applied, so a node still detached
   * then was moved out of the worktree, or into an opaque directory (reported itself).
   */
  opaquePaths(): string[] {
    const out: string[] = [];
    for (const holder of this.opaqueHolders) {
      const rel = this.pathOf(holder);
      if (rel === null || !holder.opaque) continue;
      for (const name of holder.opaque) out.push(joinRel(rel, name));
    }
    return out;
  }

  /** Nodes at or below `top` that hold opaque subdirectories. */
  opaqueHoldersUnder(top: DirNode): DirNode[] {
    const out: DirNode[] = [];
    for (const holder of this.opaqueHolders) {
      for (let n: DirNode | null = holder; n; n = n.parent) {
        if (n === top) {
          out.push(holder);
          break;
        }
      }
    }
    return out;
  }

  private unlink(node: DirNode): void {
    if (node.parent) {
      const siblings = node.parent.children;
      if (siblings?.get(node.name) === node) siblings.delete(node.name);
      node.parent = null;
    }
    this.detached.delete(node);
  }
}
