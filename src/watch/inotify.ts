/**
 * The Linux backend: our own recursive watcher on raw inotify (docs/linux-watching.md).
 *
 * One inotify instance ("generation") holds the worktree's directory watches, the git dir
 * watch and the cookie dir watch. Sharing one fd is what makes the cookie handshake sound:
 * inotify delivers one instance's events in FIFO order, so once a query's cookie is read,
 * every change made before it has been read too.
 *
 * Lost sync (queue overflow, watch table full, a directory we cannot read) throws the whole
 * generation away and builds a new one: a fresh fd means a fresh queue, so the IN_IGNORED
 * events of thousands of dropped watches cannot overflow it again.
 */
import { closeSync, read } from 'node:fs';
import { FatalError, isGone, SyncLostError } from './errors.js';
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
  instanceLimitMessage,
  ROOT_MASK,
  rmWatch,
  watchLimitMessage,
} from './inotify-sys.js';
import { scanAsync } from './scanner.js';
import { StartPromise } from './start-promise.js';
import type { WatchBatch, Watcher, WatcherOptions, WatcherStats, WatchListener } from './types.js';

export interface InotifyWatcherOptions extends WatcherOptions {
  /** First delay before rescanning after a limit or scan failure; doubles up to the max. */
  retryDelayMs?: number;
  retryMaxDelayMs?: number;
  /** readdirs in flight during a full scan. */
  scanConcurrency?: number;
  /**
   * How long a directory whose IN_MOVED_FROM found no partner keeps its watches, in case the
   * IN_MOVED_TO is merely in the next read or the directory comes back.
   */
  detachHoldMs?: number;
}

/** A generation ready for this long resets the retry backoff. */
const STABLE_MS = 10_000;
/** First pause before rescanning after repeated overflows. */
const OVERFLOW_PAUSE_MS = 250;
/** Bound on waiting for a blocked read to notice shutdown. */
const WAKE_GUARD_MS = 2_000;

export class InotifyWatcher implements Watcher {
  private readonly root: string;
  private readonly gitDir: string;
  private readonly cookieDir: string;
  private readonly listener: WatchListener;
  private readonly logFn: WatcherOptions['log'];
  private readonly retryDelayMs: number;
  private readonly retryMaxDelayMs: number;
  private readonly concurrency: number;
  private readonly holdMs: number;
  private readonly applier: EventApplier;

  private gen: Generation | null = null;
  private readonly started = new StartPromise();
  private everReady = false;
  /** Ready and not lost since: a loss must be announced. */
  private synced = false;
  /** While retrying, the same reason is announced once, not on every attempt. */
  private lostReason: string | null = null;
  private dead = false;
  private closed = false;
  private closing: Promise<void> | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private expireTimer: NodeJS.Timeout | null = null;
  private failStreak = 0;
  private events = 0;
  private rescans = 0;
  private lastError: string | null = null;

  constructor(opts: InotifyWatcherOptions) {
    this.root = trimSlash(opts.root);
    this.gitDir = trimSlash(opts.gitDir);
    this.cookieDir = trimSlash(opts.cookieDir);
    this.listener = opts.listener;
    this.logFn = opts.log;
    this.retryDelayMs = opts.retryDelayMs ?? 5_000;
    this.retryMaxDelayMs = opts.retryMaxDelayMs ?? 60_000;
    this.concurrency = Math.max(1, opts.scanConcurrency ?? 12);
    this.holdMs = opts.detachHoldMs ?? 1_000;
    this.applier = new EventApplier(
      this.root,
      (level, msg) => this.log(level, msg),
      (level, msg) => this.note(level, msg),
    );
  }

  start(): Promise<void> {
    return this.started.get(() => {
      if (this.closed) this.started.settle(new Error('watcher closed'));
      else this.begin();
    });
  }

  rewatchCookieDir(): void {
    const gen = this.gen;
    // Between generations there is nothing to do: every new generation watches it.
    if (!gen?.alive) return;
    try {
      this.watchCookieDir(gen);
    } catch (err) {
      this.note('warn', `cookie dir not watched: ${(err as Error).message}`);
    }
  }

  unwatchable(): readonly string[] {
    return [];
  }

  blockedReason(): string | null {
    return null;
  }

  stats(): WatcherStats {
    return {
      backend: 'inotify',
      watchedDirs: this.gen?.tree.size ?? 0,
      events: this.events,
      rescans: this.rescans,
      lastError: this.lastError,
    };
  }

  close(): Promise<void> {
    if (!this.closing) {
      this.closed = true;
      this.clearTimers();
      this.started.settle(new Error('watcher closed'));
      const gen = this.gen;
      this.gen = null;
      this.closing = gen ? this.release(gen) : Promise.resolve();
    }
    return this.closing;
  }

  // ---- generations --------------------------------------------------------------------

  /** Open a generation and run its full scan; onReady when done. */
  private begin(): void {
    this.retryTimer = null;
    if (this.closed || this.dead) return;
    let gen: Generation;
    try {
      gen = this.open();
    } catch (err) {
      this.fail(null, err);
      return;
    }
    this.gen = gen;
    scanAsync(gen.host, this.concurrency, () => gen.alive).then(
      () => {
        if (gen.alive) this.ready(gen);
      },
      (err) => this.fail(gen, err),
    );
  }

  private open(): Generation {
    const fd = inotifyInit();
    if (typeof fd === 'string') {
      throw fd === 'EMFILE' || fd === 'ENFILE' || fd === 'ENOMEM'
        ? new SyncLostError(instanceLimitMessage(), 'limit')
        : new SyncLostError(`inotify_init1 failed: ${fd}`, 'error');
    }
    try {
      const rootWd = addWatch(fd, this.root, ROOT_MASK);
      if (typeof rootWd === 'string') {
        if (isGone(rootWd)) throw new FatalError(`worktree root not found: ${this.root}`);
        throw watchFailed(rootWd, '.');
      }
      const gen = new Generation(fd, rootWd, (g) => this.applier.scanHost(g));
      const g = addWatch(fd, this.gitDir, GITDIR_MASK);
      if (typeof g === 'string') {
        if (isGone(g)) throw new FatalError(`git dir not found: ${this.gitDir}`);
        throw watchFailed(g, this.gitDir);
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
    if (r === 'ENOSPC') throw new SyncLostError(watchLimitMessage(), 'limit');
    // Not fatal: queries will time out and answer trivially until rewatchCookieDir().
    gen.cookieWd = -1;
    this.note('warn', `cookie dir not watched (${r}): ${this.cookieDir}`);
  }

  private ready(gen: Generation): void {
    gen.readyAt = Date.now();
    this.log('info', `watching ${gen.tree.size} directories`);
    // Events queued during the scan are read now; those about things the scan already saw
    // are handled idempotently (add_watch returns the same wd, a rescan reports extra paths).
    this.readNext(gen);
    this.everReady = true;
    this.synced = true;
    this.lostReason = null;
    this.call(() => this.listener.onReady());
    this.started.settle();
  }

  /** Every failure ends here: fatal, or sync lost followed by a retry. */
  private fail(gen: Generation | null, err: unknown): void {
    if (gen) this.release(gen);
    if (this.closed || this.dead) return;
    if (err instanceof FatalError) {
      this.die(err.reason);
      return;
    }
    const lost =
      err instanceof SyncLostError
        ? err
        : new SyncLostError(`internal error: ${(err as Error)?.stack ?? String(err)}`, 'error');
    this.rescans++;
    this.note(lost.kind === 'overflow' ? 'warn' : 'error', `sync lost: ${lost.reason}`);
    if (this.synced || lost.reason !== this.lostReason) {
      this.call(() => this.listener.onSyncLost(lost.reason));
    }
    this.synced = false;
    this.lostReason = lost.reason;
    // The listener may have closed us from onSyncLost.
    if (this.closed || this.dead) return;
    if (gen && gen.readyAt > 0 && Date.now() - gen.readyAt >= STABLE_MS) this.failStreak = 0;
    const n = this.failStreak++;
    // An overflow comes from a burst, not a lasting condition: rescan at once, and pause at
    // most a second when bursts repeat (every second blind is a full scan for git). Limits and
    // unreadable directories back off to a minute so they never become a busy loop.
    const delay =
      lost.kind === 'overflow'
        ? n === 0
          ? 0
          : Math.min(OVERFLOW_PAUSE_MS * 2 ** (n - 1), 1_000)
        : Math.min(this.retryDelayMs * 2 ** n, this.retryMaxDelayMs);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.begin(), delay);
  }

  private die(reason: string): void {
    this.dead = true;
    this.clearTimers();
    if (this.gen) this.release(this.gen);
    this.note('error', `fatal: ${reason}`);
    if (!this.everReady && this.started.pending) this.started.settle(new Error(reason));
    else this.call(() => this.listener.onFatal(reason));
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
        if (!this.closed) this.listener.onBatch(batch);
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

  private clearTimers(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.expireTimer) clearTimeout(this.expireTimer);
    this.retryTimer = null;
    this.expireTimer = null;
  }

  /** Listener calls never throw into our loop and stop once closed. */
  private call(fn: () => void): void {
    if (this.closed) return;
    try {
      fn();
    } catch (err) {
      this.log('error', `listener threw: ${(err as Error)?.stack ?? err}`);
    }
  }

  private note(level: 'warn' | 'error', msg: string): void {
    this.lastError = msg;
    this.log(level, msg);
  }

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
