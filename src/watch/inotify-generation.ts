/**
 * One inotify instance and the state that is only meaningful with it: its watch descriptors
 * and the directory tree keyed by them. A resync never reuses any of it.
 */
import { closeSync } from 'node:fs';
import { DirTree } from './dir-tree.js';
import { rmWatch } from './inotify-sys.js';
import type { ScanHost } from './scanner.js';

/** Far above the 16 + NAME_MAX + 1 bytes a single record may need (inotify(7)). */
const READ_BUFFER = 64 * 1024;
/**
 * Watches removed per turn of the event loop. Each inotify_rm_watch queues an IN_IGNORED;
 * dropping a 67k-directory subtree in one go would overflow the 16k-event queue by itself.
 */
const RM_CHUNK = 1024;

export class Generation {
  readonly buf = Buffer.allocUnsafe(READ_BUFFER);
  readonly tree: DirTree;
  readonly host: ScanHost;
  cookieWd = -1;
  gitDirWd = -1;
  /** False once abandoned: late callbacks of this generation must do nothing. */
  alive = true;
  /** An fs.read is pending in the threadpool: the fd must stay open until it returns. */
  reading = false;
  /** Called by the read callback after it closed the fd of an abandoned generation. */
  afterRead: (() => void) | null = null;
  private fdOpen = true;
  private readonly rmPending = new Set<number>();
  private rmScheduled = false;

  constructor(
    readonly fd: number,
    rootWd: number,
    makeHost: (gen: Generation) => ScanHost,
  ) {
    this.tree = new DirTree(rootWd);
    this.host = makeHost(this);
  }

  /** inotify_rm_watch soon, a chunk at a time, so the reader drains IN_IGNORED in between. */
  queueRm(wd: number): void {
    if (wd < 0) return;
    this.rmPending.add(wd);
    if (this.rmScheduled) return;
    this.rmScheduled = true;
    setImmediate(() => this.drainRm());
  }

  /**
   * add_watch returned `wd`: it is in use again (the same inode came back before its removal
   * ran), so it must not be removed from under its new node.
   */
  keep(wd: number): void {
    if (this.rmPending.size > 0) this.rmPending.delete(wd);
  }

  private drainRm(): void {
    this.rmScheduled = false;
    if (!this.alive) return;
    let n = 0;
    for (const wd of this.rmPending) {
      if (n++ >= RM_CHUNK) break;
      this.rmPending.delete(wd);
      rmWatch(this.fd, wd);
    }
    if (this.rmPending.size > 0) {
      this.rmScheduled = true;
      setImmediate(() => this.drainRm());
    }
  }

  /** Closing the instance releases every watch at once, without queueing IN_IGNORED. */
  closeFd(): void {
    if (!this.fdOpen) return;
    this.fdOpen = false;
    try {
      closeSync(this.fd);
    } catch {
      // Already closed: nothing left to release.
    }
  }
}
