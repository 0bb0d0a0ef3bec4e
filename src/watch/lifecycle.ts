/**
 * The watcher lifecycle both backends share: start once, ready, sync lost and retry with
 * backoff, blocked, fatal, close. A backend only builds and tears down its kernel side; every
 * listener call about completeness goes through here, so the soundness rules below hold for
 * both the same way:
 *
 * - Announce once: a loss is announced (onSyncLost) whenever watching was complete, and again
 *   only if the reason changes while retrying. The daemon treats every announcement as "tokens
 *   issued before this are void"; a retry loop that re-announced on every attempt would be
 *   harmless for soundness but would flood the log, and one that announced only the first
 *   loss after start would let a loss during a later ready period go unnoticed.
 * - onReady only after a complete scan, never while a loss is pending.
 * - Fatal wins: once dead, nothing else is reported and no retry runs.
 * - Once closed, no listener call at all.
 */
import { FatalError, SyncLostError } from './errors.js';
import { StartPromise } from './start-promise.js';
import {
  type InotifyLimits,
  UNWATCHABLE_SAMPLE,
  type WatcherStats,
  type WatchListener,
} from './types.js';

type Level = 'debug' | 'info' | 'warn' | 'error';

export interface RetryOptions {
  /** First delay before retrying after a lasting failure; doubles up to the max. */
  retryDelayMs?: number;
  retryMaxDelayMs?: number;
}

/** Ready for this long resets the retry backoff. */
const STABLE_MS = 10_000;
/** First pause before rebuilding after repeated overflows. */
const OVERFLOW_PAUSE_MS = 250;
/** Overflows come from bursts: never more than this blind between two rebuilds. */
const OVERFLOW_MAX_PAUSE_MS = 1_000;

export class Lifecycle {
  private readonly listener: WatchListener;
  private readonly attempt: () => void;
  private readonly logFn: (level: Level, msg: string) => void;
  private readonly retryDelayMs: number;
  private readonly retryMaxDelayMs: number;
  private readonly started = new StartPromise();
  private everReady = false;
  /** Ready and not lost since: a loss must be announced. */
  private synced = false;
  /** While retrying, the same reason is announced once, not on every attempt. */
  private lostReason: string | null = null;
  private blocked: string | null = null;
  private readyAt = 0;
  private failStreak = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  private dead = false;
  private closed = false;
  rescans = 0;
  lastError: string | null = null;

  /** `attempt` builds watching from scratch; it must end in ready(), fail() or die(). */
  constructor(
    opts: RetryOptions & { listener: WatchListener },
    attempt: () => void,
    log: (level: Level, msg: string) => void,
  ) {
    this.listener = opts.listener;
    this.attempt = attempt;
    this.logFn = log;
    this.retryDelayMs = opts.retryDelayMs ?? 5_000;
    this.retryMaxDelayMs = opts.retryMaxDelayMs ?? 60_000;
  }

  /** Neither closed nor dead: work may go on and results may be reported. */
  get running(): boolean {
    return !this.closed && !this.dead;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  start(): Promise<void> {
    return this.started.get(() => {
      if (this.closed) this.started.settle(new Error('watcher closed'));
      else this.run();
    });
  }

  blockedReason(): string | null {
    return this.running ? this.blocked : null;
  }

  /** Watching is complete again. */
  ready(): void {
    if (!this.running) return;
    this.readyAt = Date.now();
    this.everReady = true;
    this.synced = true;
    this.lostReason = null;
    this.blocked = null;
    this.call(() => this.listener.onReady());
    this.started.settle();
  }

  /**
   * Every failure of a backend ends here (after it released what it held): fatal, or sync lost
   * followed by a retry. `released` delays the retry until the old resources are gone.
   */
  fail(err: unknown, released?: Promise<void>): void {
    if (!this.running) return;
    if (err instanceof FatalError) {
      this.die(err.reason);
      return;
    }
    const lost =
      err instanceof SyncLostError
        ? err
        : new SyncLostError(`internal error: ${(err as Error)?.stack ?? String(err)}`, 'error');
    this.rescans++;
    this.note(lost.kind === 'overflow' ? 'warn' : 'error', `sync lost: ${lost.detail}`);
    if (this.synced || lost.reason !== this.lostReason) {
      this.call(() => this.listener.onSyncLost(lost.reason));
    }
    const wasStable = this.synced && Date.now() - this.readyAt >= STABLE_MS;
    this.synced = false;
    this.lostReason = lost.reason;
    // Only a lasting condition blocks: after an overflow or a one-off error the next attempt
    // is likely to succeed, and waiting a moment for it beats a full scan by git.
    this.blocked = lost.kind === 'limit' ? lost.detail : null;
    // The listener may have closed us from onSyncLost.
    if (!this.running) return;
    if (wasStable) this.failStreak = 0;
    const delay = this.delay(lost.kind, this.failStreak++);
    const schedule = () => {
      if (!this.running) return;
      if (this.retryTimer) clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => this.run(), delay);
    };
    if (released) void released.then(schedule, schedule);
    else schedule();
  }

  /** The worktree or git dir is gone: the start fails, or onFatal. Nothing after that. */
  die(reason: string): void {
    if (!this.running) return;
    this.dead = true;
    this.blocked = null;
    this.clearRetry();
    this.note('error', `fatal: ${reason}`);
    if (!this.everReady && this.started.pending) this.started.settle(new Error(reason));
    else this.call(() => this.listener.onFatal(reason));
  }

  /** The backend's figures plus the lifecycle's own. */
  stats(
    backend: string,
    watchedDirs: number,
    events: number,
    unwatchable: readonly string[],
    limits: InotifyLimits | null,
  ): WatcherStats {
    return {
      backend,
      watchedDirs,
      events,
      rescans: this.rescans,
      lastError: this.lastError,
      blocked: this.blockedReason(),
      unwatchableDirs: unwatchable.length,
      unwatchableSample: unwatchable.slice(0, UNWATCHABLE_SAMPLE),
      limits,
    };
  }

  /** True on the first call only: the backend then releases what it holds. */
  close(): boolean {
    if (this.closed) return false;
    this.closed = true;
    this.blocked = null;
    this.clearRetry();
    this.started.settle(new Error('watcher closed'));
    return true;
  }

  /** Listener calls never throw into the backend's loop and stop once closed. */
  call(fn: () => void): void {
    if (this.closed) return;
    try {
      fn();
    } catch (err) {
      this.logFn('error', `listener threw: ${(err as Error)?.stack ?? err}`);
    }
  }

  /** A warning worth surfacing as stats().lastError. */
  note(level: 'warn' | 'error', msg: string): void {
    this.lastError = msg;
    this.logFn(level, msg);
  }

  /**
   * An overflow comes from a burst, not a lasting condition: rebuild at once, and pause at
   * most a second when bursts repeat (every second blind is a full scan for git). Limits and
   * errors back off to a minute so they never become a busy loop.
   */
  private delay(kind: SyncLostError['kind'], n: number): number {
    if (kind === 'overflow') {
      return n === 0 ? 0 : Math.min(OVERFLOW_PAUSE_MS * 2 ** (n - 1), OVERFLOW_MAX_PAUSE_MS);
    }
    return Math.min(this.retryDelayMs * 2 ** n, this.retryMaxDelayMs);
  }

  private run(): void {
    this.retryTimer = null;
    if (this.running) this.attempt();
  }

  private clearRetry(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }
}
