/**
 * The full scan: watch and list the whole tree below the root, before any token.
 *
 * Synchronous listings in slices of `sliceMs`, yielding to the event loop in between (queries
 * waiting for readiness, signals, health checks, the helper's results). On 1M files in 66.7k
 * directories that took 1.4-1.8 s against 2.9-3.2 s for 12 concurrent promise readdirs: each
 * of those pays a thread-pool round trip and a promise, and the pool threads only compete with
 * the main thread for the same cores.
 *
 * A scan still running after `helperAfterMs` starts a helper process (scan-helper.ts) that
 * does the listing from then on: the daemon watches each directory, then sends its path, and
 * watches the subdirectories the answer names, then sends theirs. A directory sent is
 * "delegated" until its listing arrives; whatever is delegated when the helper fails, the
 * daemon lists itself. An answer about a directory that may have moved since it was sent (the
 * tree's `reshapes` ticket changed) is not used either: the daemon lists it again where it is.
 */
import { monotonicMs } from '../sys/clock.js';
import type { DirNode } from './dir-tree.js';
import { isDenied, isGone } from './errors.js';
import type { HelperCallbacks, ScanHelper } from './scan-helper.js';
import { DirAnswer } from './scan-wire.js';
import { DOT_GIT, listFailed, listWatched, type ScanHost, visit } from './scanner.js';

export interface FullScanOptions {
  sliceMs: number;
  /** False once the scan's generation is abandoned: the scan resolves early. */
  alive: () => boolean;
  /**
   * Start a helper once the scan has run this long; negative: never; 0: at once, and the
   * helper lists everything below the root.
   */
  helperAfterMs: number;
  /** A helper (null: none this time). */
  startHelper: (calls: HelperCallbacks) => ScanHelper | null;
}

/** Set when a helper failed: the rest of this daemon's scans do without. */
let helperOff = false;

export function scanAsync(host: ScanHost, opts: FullScanOptions): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const scan = new FullScan(host, opts, resolve, reject);
    setImmediate(() => scan.slice());
  });
}

class FullScan {
  private readonly stack: DirNode[];
  private readonly startedAt = monotonicMs();
  private helper: ScanHelper | null = null;
  private helperTried = false;
  /** Sent to the helper, by wd, until its listing arrives. */
  private readonly delegated = new Map<number, DirNode>();
  /** Reads every answer, in place. */
  private readonly answer = new DirAnswer();
  /** The node whose answer is being applied, and its path when a message needs it. */
  private answering: DirNode | null = null;
  private readonly answeringRel = () => this.host.tree.pathOf(this.answering!) ?? '';
  /** Waiting for the helper: its next message resumes the scan. */
  private waiting = false;
  private scheduled = true;
  private done = false;
  /** Directories the helper listed. */
  private helped = 0;

  constructor(
    private readonly host: ScanHost,
    private readonly opts: FullScanOptions,
    private readonly resolve: () => void,
    private readonly reject: (err: unknown) => void,
  ) {
    this.stack = [host.tree.root];
  }

  slice(): void {
    this.scheduled = false;
    this.waiting = false;
    if (this.done) return;
    try {
      this.step();
    } catch (err) {
      this.finish(err);
    }
  }

  private step(): void {
    const { opts, stack } = this;
    const until = monotonicMs() + opts.sliceMs;
    this.maybeStartHelper();
    this.checkHelper();
    const helper = this.helper;
    if (helper?.ready) this.handOver(helper);
    // 0: the helper lists everything below the root (tests give it trees it would otherwise
    // never see), so we wait for it to start rather than list on.
    if (helper && !helper.ready && opts.helperAfterMs === 0 && stack.length > 0) {
      this.waiting = true;
      return;
    }
    for (let node = stack.pop(); node && opts.alive(); node = stack.pop()) {
      this.listOne(node);
      if (monotonicMs() >= until) break;
    }
    this.helper?.flush();
    if (!opts.alive()) {
      this.finish(null);
    } else if (stack.length > 0) {
      this.schedule();
    } else if (this.delegated.size > 0) {
      this.waiting = true;
    } else {
      this.finish(null);
    }
  }

  /** List one directory and watch its subdirectories, which go on the stack. */
  private listOne(node: DirNode): void {
    const { host } = this;
    const tree = host.tree;
    // Moved out or removed by an event read since its parent was listed.
    const loc = tree.locate(node);
    if (loc.top !== tree.root || !tree.isLive(node)) return;
    const entries = listWatched(host, node, loc.rel, false);
    if (!entries) return;
    visit(tree, node, entries.dirs, (name) => {
      const child = host.watchChild(node, loc.rel, name, null);
      if (child) this.stack.push(child);
    });
  }

  private maybeStartHelper(): void {
    if (this.helperTried || helperOff || this.opts.helperAfterMs < 0) return;
    if (monotonicMs() - this.startedAt < this.opts.helperAfterMs) return;
    this.helperTried = true;
    this.helper = this.opts.startHelper({
      onAnswer: (buf, from, to) => {
        if (this.done || !this.helper) return;
        try {
          this.applyDir(buf, from, to, this.helper);
        } catch (err) {
          this.finish(err);
        }
      },
      onActivity: () => {
        if (this.done) return;
        this.helper?.flush();
        if (this.waiting || this.helper?.failed) this.schedule();
      },
    });
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.slice());
  }

  /** Everything on our stack goes to the helper: watched, not listed yet. */
  private handOver(helper: ScanHelper): void {
    const { stack, host } = this;
    for (const node of stack.splice(0)) {
      const rel = host.tree.pathOf(node);
      if (rel === null || !host.tree.isLive(node)) continue;
      const path = Buffer.from(host.abs(rel), 'latin1');
      helper.list(node.wd, host.tree.reshapes, path, 0, path.length);
      this.delegated.set(node.wd, node);
    }
  }

  /** A failed helper's work comes back to us. */
  private checkHelper(): void {
    const helper = this.helper;
    if (helper?.failed == null) return;
    this.host.log('warn', `scan helper failed (${helper.failed}); the daemon lists on alone`);
    helperOff = true;
    this.helper = null;
    for (const node of this.delegated.values()) this.stack.push(node);
    this.delegated.clear();
  }

  /** The helper's listing of a delegated directory, applied as if it were our own. */
  private applyDir(buf: Buffer, from: number, to: number, helper: ScanHelper): void {
    const { host } = this;
    const tree = host.tree;
    const a = this.answer.read(buf, from, to);
    const node = this.delegated.get(a.wd);
    // Not ours to apply (a helper answering twice): nothing in it is trusted.
    if (!node) return;
    this.delegated.delete(a.wd);
    this.helped++;
    if (!tree.isLive(node)) return;
    if (a.ticket !== tree.reshapes >>> 0 || node.children || node.opaque) {
      // It may have moved since it was sent, or it was listed before: list it where it is.
      this.stack.push(node);
      this.schedule();
      return;
    }
    this.answering = node;
    if (a.code !== '') {
      if (isGone(a.code)) return;
      const rel = this.answeringRel();
      if (!isDenied(a.code)) throw listFailed(rel, a.code);
      host.unreadable(node, rel, a.code);
      return;
    }
    while (a.nextSubdir()) {
      if (a.name === DOT_GIT) continue;
      const r = host.watchAt(buf, a.pathFrom, a.pathTo);
      const child = host.adoptChild(node, this.answeringRel, a.name, r);
      if (!child) continue;
      helper.list(child.wd, tree.reshapes, buf, a.pathFrom, a.pathTo);
      this.delegated.set(child.wd, child);
    }
  }

  private finish(err: unknown): void {
    if (this.done) return;
    this.done = true;
    this.helper?.close();
    this.helper = null;
    if (this.helped > 0)
      this.host.log('info', `scan: the helper listed ${this.helped} directories`);
    if (err === null) this.resolve();
    else this.reject(err);
  }
}
