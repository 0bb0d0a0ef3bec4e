/**
 * The Linux backend: our own recursive watcher on raw inotify (docs/linux-watching.md).
 *
 * One inotify instance ("generation") holds the worktree's directory watches, the git dir
 * watch and the cookie dir watch. Sharing one fd is what makes the cookie handshake sound:
 * inotify delivers one instance's events in FIFO order, so once a query's cookie is read,
 * every change made before it has been read too.
 *
 * Lost sync (queue overflow, watch table full) throws the whole generation away and builds a
 * new one: a fresh fd means a fresh queue, so the IN_IGNORED events of thousands of dropped
 * watches cannot overflow it again. A directory we may not read is not a loss: it is opaque
 * (unwatchable()) and the rest stays watched. Retries, announcements and the blocked state
 * are the shared Lifecycle's.
 */
import { closeSync, read } from 'node:fs';
import { collectGarbage } from '../sys/gc.js';
import { FatalError, isGone, SyncLostError } from './errors.js';
import { scanAsync } from './full-scan.js';
import { EventApplier, watchFailed } from './inotify-apply.js';
import { parseEvents } from './inotify-events.js';
import { Generation } from './inotify-generation.js';
import {
  addWatch,
  COOKIE_MASK,
  GITDIR_MASK,
  IN_DELETE_SELF,
  IN_MASK_ADD,
  inotifyInit,
  inotifyLimits,
  instanceLimitDetail,
  instanceLimitMessage,
  ROOT_MASK,
  rmWatch,
  userInotifyUsage,
  watchLimitDetail,
  watchLimitMessage,
} from './inotify-sys.js';
import { Lifecycle, type RetryOptions } from './lifecycle.js';
import { type HelperCallbacks, ScanHelper } from './scan-helper.js';
import type { InotifyLimits, WatchBatch, Watcher, WatcherOptions, WatcherStats } from './types.js';

export interface InotifyWatcherOptions extends WatcherOptions, RetryOptions {
  /**
   * A full scan lists for this long at a time before it lets the event loop run (default
   * 10 ms: the loop stays responsive, and yielding costs next to nothing at that rate).
   */
  scanSliceMs?: number;
  /**
   * A full scan still running after this long starts a helper process on the other core
   * (full-scan.ts); 0: at once; negative: never. Default 150 ms (settings.ts says why).
   */
  scanHelperAfterMs?: number;
  /** The helper's script (tests give one that fails); default the real one. */
  scanHelperScript?: string;
  /**
   * How long a directory whose IN_MOVED_FROM found no partner keeps its watches, in case the
   * IN_MOVED_TO is merely in the next read or the directory comes back.
   */
  detachHoldMs?: number;
}

/**
 * A full scan of this many directories or more is followed by a full garbage collection: its
 * garbage would stay in the daemon's RSS (src/sys/gc.ts); a smaller one leaves little.
 */
const COLLECT_AFTER_DIRS = 8192;

/** Bound on waiting for a blocked read to notice shutdown. */
const WAKE_GUARD_MS = 2_000;

export class InotifyWatcher implements Watcher {
  private readonly root: string;
  private readonly gitDir: string;
  private readonly cookieDir: string;
  private readonly listener: WatcherOptions['listener'];
  private readonly logFn: WatcherOptions['log'];
  private readonly sliceMs: number;
  private readonly helperAfterMs: number;
  private readonly helperScript: string | undefined;
  private readonly holdMs: number;
  private readonly applier: EventApplier;
  private readonly life: Lifecycle;

  private gen: Generation | null = null;
  private closing: Promise<void> | null = null;
  private expireTimer: NodeJS.Timeout | null = null;
  private events = 0;

  constructor(opts: InotifyWatcherOptions) {
    this.root = trimSlash(opts.root);
    this.gitDir = trimSlash(opts.gitDir);
    this.cookieDir = trimSlash(opts.cookieDir);
    this.listener = opts.listener;
    this.logFn = opts.log;
    this.life = new Lifecycle(
      opts,
      () => this.begin(),
      (level, msg) => this.log(level, msg),
    );
    this.sliceMs = Math.max(0, opts.scanSliceMs ?? 10);
    this.helperAfterMs = opts.scanHelperAfterMs ?? 150;
    this.helperScript = opts.scanHelperScript;
    this.holdMs = opts.detachHoldMs ?? 1_000;
    this.applier = new EventApplier(
      this.root,
      (level, msg) => this.log(level, msg),
      (level, msg) => this.life.note(level, msg),
    );
  }

  start(): Promise<void> {
    return this.life.start();
  }

  rewatchCookieDir(): void {
    const gen = this.gen;
    // Between generations there is nothing to do: every new generation watches it.
    if (!gen?.alive) return;
    try {
      this.watchCookieDir(gen);
    } catch (err) {
      this.life.note('warn', `cookie dir not watched: ${(err as Error).message}`);
    }
  }

  /**
   * Sound only together with the daemon reporting each of these in every answer: we know
   * nothing beneath them, not even of changes to tracked files git can still lstat by name
   * through a directory with x but no r. Naming the directory makes git re-examine all it
   * has below it (entries and untracked cache), whatever happened there since any token.
   */
  unwatchable(): readonly string[] {
    const gen = this.gen;
    return gen?.alive ? gen.tree.opaquePaths() : [];
  }

  blockedReason(): string | null {
    return this.life.blockedReason();
  }

  stats(): WatcherStats {
    const gen = this.gen?.alive ? this.gen : null;
    const size = gen?.tree.size ?? 0;
    return this.life.stats('inotify', size, this.events, this.unwatchable(), this.limits(gen));
  }

  close(): Promise<void> {
    if (this.life.close()) {
      if (this.expireTimer) clearTimeout(this.expireTimer);
      this.expireTimer = null;
      const gen = this.gen;
      this.gen = null;
      this.closing = gen ? this.release(gen) : Promise.resolve();
    }
    return this.closing ?? Promise.resolve();
  }

  private limits(gen: Generation | null): InotifyLimits {
    const { maxWatches, maxInstances } = inotifyLimits();
    // Walking /proc costs ~15 ms per 100 processes: only while it explains something.
    const user = this.life.blockedReason() === null ? null : userInotifyUsage();
    return {
      watches: gen ? gen.tree.size + (gen.gitDirWd >= 0 ? 1 : 0) + (gen.cookieWd >= 0 ? 1 : 0) : 0,
      userWatches: user?.watches ?? null,
      maxWatches,
      instances: gen ? 1 : 0,
      userInstances: user?.instances ?? null,
      maxInstances,
    };
  }

  // ---- generations --------------------------------------------------------------------

  /** Open a generation and run its full scan; onReady when done. */
  private begin(): void {
    let gen: Generation;
    try {
      gen = this.open();
    } catch (err) {
      this.fail(null, err);
      return;
    }
    this.gen = gen;
    scanAsync(gen.host, {
      sliceMs: this.sliceMs,
      alive: () => gen.alive,
      helperAfterMs: this.helperAfterMs,
      startHelper: (calls) => this.startHelper(calls),
    }).then(
      () => {
        if (gen.alive) this.ready(gen);
      },
      (err) => this.fail(gen, err),
    );
  }

  private startHelper(calls: HelperCallbacks): ScanHelper | null {
    try {
      return new ScanHelper(calls, this.helperScript);
    } catch (err) {
      this.log('warn', `scan helper not started: ${(err as Error).message}`);
      return null;
    }
  }

  private open(): Generation {
    const fd = inotifyInit();
    if (typeof fd === 'string') {
      throw fd === 'EMFILE' || fd === 'ENFILE' || fd === 'ENOMEM'
        ? new SyncLostError(instanceLimitMessage(), 'limit', instanceLimitDetail(fd))
        : new SyncLostError(`inotify_init1 failed: ${fd}`, 'error');
    }
    try {
      const rootWd = addWatch(fd, this.root, ROOT_MASK);
      if (typeof rootWd === 'string') {
        if (isGone(rootWd)) throw new FatalError(`worktree root not found: ${this.root}`);
        throw watchFailed(rootWd, '.', 0);
      }
      const gen = new Generation(fd, rootWd, (g) => this.applier.scanHost(g));
      const g = addWatch(fd, this.gitDir, GITDIR_MASK);
      if (typeof g === 'string') {
        if (isGone(g)) throw new FatalError(`git dir not found: ${this.gitDir}`);
        throw watchFailed(g, this.gitDir, gen.tree.size);
      }
      gen.gitDirWd = g;
      this.watchCookieDir(gen);
      return gen;
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }

  private watchCookieDir(gen: Generation): void {
    const r = addWatch(gen.fd, this.cookieDir, COOKIE_MASK);
    if (typeof r !== 'string') {
      gen.cookieWd = r;
      return;
    }
    if (r === 'ENOSPC') {
      throw new SyncLostError(watchLimitMessage(), 'limit', watchLimitDetail(gen.tree.size + 1));
    }
    // Not fatal: queries will time out and answer trivially until rewatchCookieDir().
    gen.cookieWd = -1;
    this.life.note('warn', `cookie dir not watched (${r}): ${this.cookieDir}`);
  }

  private ready(gen: Generation): void {
    this.log('info', `watching ${gen.tree.size} directories`);
    const opaque = gen.tree.opaquePaths();
    if (opaque.length > 0) {
      this.log('warn', `${opaque.length} directories cannot be read, e.g. '${opaque[0]}'`);
    }
    // Events queued during the scan are read now; those about things the scan already saw
    // are handled idempotently (add_watch returns the same wd, a rescan reports extra paths).
    this.readNext(gen);
    this.life.ready();
    if (gen.tree.size >= COLLECT_AFTER_DIRS) setImmediate(collectGarbage);
  }

  /** Every failure ends here: the generation is dropped, then fatal or a retry. */
  private fail(gen: Generation | null, err: unknown): void {
    if (gen) this.release(gen);
    this.life.fail(err);
  }

  /** Stop a generation; the fd is closed once no read is pending on it. */
  private release(gen: Generation): Promise<void> {
    gen.alive = false;
    if (this.gen === gen) this.gen = null;
    if (!gen.reading) {
      gen.closeFd();
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      // Closing the fd under a read that has not started yet could let it read a reused fd
      // number, so the fd is only ever closed from the read's callback.
      const guard = setTimeout(resolve, WAKE_GUARD_MS);
      guard.unref();
      gen.afterRead = () => {
        clearTimeout(guard);
        resolve();
      };
      wake(gen);
    });
  }

  // ---- reading ------------------------------------------------------------------------

  private readNext(gen: Generation): void {
    gen.reading = true;
    read(gen.fd, gen.buf, 0, gen.buf.length, null, (err, n) => {
      gen.reading = false;
      if (!gen.alive) {
        gen.closeFd();
        gen.afterRead?.();
        gen.afterRead = null;
        return;
      }
      if (err || n === 0) {
        // A blocking inotify read never returns 0; if it did, looping on it would spin.
        const why = err ? (err.code ?? err.message) : 'no data';
        this.fail(gen, new SyncLostError(`inotify read failed: ${why}`, 'error'));
        return;
      }
      this.onChunk(gen, n);
      if (gen.alive) this.readNext(gen);
    });
  }

  /** One read = one batch. Paths before a failure are delivered, then the failure. */
  private onChunk(gen: Generation, n: number): void {
    const batch: WatchBatch = { paths: [], cookies: [] };
    let failure: unknown = null;
    try {
      const events = parseEvents(gen.buf, n);
      this.events += events.length;
      for (const ev of events) this.applier.apply(gen, ev, batch);
      this.expireDetached(gen);
    } catch (err) {
      failure = err;
    }
    if (batch.paths.length > 0 || batch.cookies.length > 0) {
      try {
        if (!this.life.isClosed) this.listener.onBatch(batch);
      } catch (err) {
        // The daemon may have dropped part of the batch: it cannot vouch for the stream now.
        failure ??= new SyncLostError(`onBatch failed: ${(err as Error)?.message ?? err}`, 'error');
      }
    }
    if (failure !== null) this.fail(gen, failure);
  }

  private expireDetached(gen: Generation): void {
    if (gen.tree.detached.size === 0) return;
    const left = gen.tree.expire(Date.now(), this.holdMs, (w) => gen.queueRm(w));
    if (left > 0 && !this.expireTimer) {
      // Moved out for good only shows as "no partner arrived": check again without an event.
      this.expireTimer = setTimeout(() => {
        this.expireTimer = null;
        const current = this.gen;
        if (current?.alive) this.expireDetached(current);
      }, this.holdMs);
      this.expireTimer.unref();
    }
  }

  // ---- helpers ------------------------------------------------------------------------

  private log(level: 'debug' | 'info' | 'warn' | 'error', msg: string): void {
    this.logFn?.(level, `watch(inotify): ${msg}`);
  }
}

/**
 * A blocked read only returns when an event is queued. Removing a live watch queues
 * IN_IGNORED; if none is left, a throwaway watch on / is added and removed.
 */
function wake(gen: Generation): void {
  if (rmWatch(gen.fd, gen.tree.root.wd)) return;
  if (rmWatch(gen.fd, gen.cookieWd)) return;
  if (rmWatch(gen.fd, gen.gitDirWd)) return;
  const wd = addWatch(gen.fd, '/', IN_DELETE_SELF | IN_MASK_ADD);
  if (typeof wd === 'number') rmWatch(gen.fd, wd);
}

function trimSlash(p: string): string {
  let end = p.length;
  while (end > 1 && p.charCodeAt(end - 1) === 0x2f) end--;
  return p.slice(0, end);
}
