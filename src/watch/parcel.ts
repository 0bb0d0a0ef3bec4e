/**
 * The macOS/Windows backend: @parcel/watcher (FSEvents, ReadDirectoryChangesW).
 *
 * NOT the Linux default: on inotify, @parcel/watcher 2.6.0 loses events with no signal at all
 * (new-directory race, moved-in trees never watched, stale paths after a rename, a burst race,
 * overflow swallowed; docs/linux-watching.md, traps T3-T7). On Linux it is used only when asked for
 * explicitly, which the tests do to exercise this adapter.
 *
 * The backend is always passed explicitly: left on auto it silently switches to Watchman
 * whenever a `watchman` binary is on PATH (docs/linux-watching.md, trap T2).
 */
import { type Dirent, lstatSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { StartPromise } from './start-promise.js';
import type { WatchBatch, Watcher, WatcherOptions, WatcherStats, WatchListener } from './types.js';

type Parcel = typeof import('@parcel/watcher');
type Subscription = Awaited<ReturnType<Parcel['subscribe']>>;
type ParcelEvent = Parameters<Parameters<Parcel['subscribe']>[1]>[1][number];
export type ParcelBackend = 'fs-events' | 'windows' | 'inotify';

export interface ParcelWatcherOptions extends WatcherOptions {
  /** Defaults to the platform's native backend; 'inotify' only for tests on Linux. */
  parcelBackend?: ParcelBackend;
  retryDelayMs?: number;
  retryMaxDelayMs?: number;
}

/**
 * Cross-subscription ordering is not guaranteed (each subscription has its own callback
 * queue), so a cookie seen by the git-dir subscription is held back briefly to let the
 * worktree subscription's events of the same debounce round reach us first.
 */
const COOKIE_DEFER_MS = 25;

export function nativeParcelBackend(platform: NodeJS.Platform = process.platform): ParcelBackend {
  if (platform === 'darwin') return 'fs-events';
  if (platform === 'win32') return 'windows';
  throw new Error(`no native @parcel/watcher backend chosen for ${platform}`);
}

export class ParcelWatcher implements Watcher {
  private readonly listener: WatchListener;
  private readonly backend: ParcelBackend;
  private readonly logFn: WatcherOptions['log'];
  private readonly retryDelayMs: number;
  private readonly retryMaxDelayMs: number;
  private readonly ci: boolean;
  /** Native-string forms ('/'-separated) of the three directories. */
  private readonly root: string;
  private readonly gitDir: string;
  private readonly cookieDir: string;
  private parcel: Parcel | null = null;
  private subs: Subscription[] = [];
  /** Bumped on every (un)subscribe: callbacks of older subscriptions are ignored. */
  private epoch = 0;
  private readonly started = new StartPromise();
  private everReady = false;
  private synced = false;
  private lostReason: string | null = null;
  private closed = false;
  private dead = false;
  private retries = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  private events = 0;
  private rescans = 0;
  private lastError: string | null = null;

  constructor(opts: ParcelWatcherOptions) {
    this.listener = opts.listener;
    this.logFn = opts.log;
    this.backend = opts.parcelBackend ?? nativeParcelBackend();
    this.retryDelayMs = opts.retryDelayMs ?? 5_000;
    this.retryMaxDelayMs = opts.retryMaxDelayMs ?? 60_000;
    this.ci = process.platform === 'win32' || process.platform === 'darwin';
    this.root = norm(fromBytes(opts.root));
    this.gitDir = norm(fromBytes(opts.gitDir));
    this.cookieDir = norm(fromBytes(opts.cookieDir));
  }

  start(): Promise<void> {
    return this.started.get(() => {
      if (this.closed) this.started.settle(new Error('watcher closed'));
      else this.attempt();
    });
  }

  rewatchCookieDir(): void {
    // Parcel watches recursively: a re-created cookie dir is picked up without help.
  }

  unwatchable(): readonly string[] {
    return [];
  }

  blockedReason(): string | null {
    return null;
  }

  stats(): WatcherStats {
    return {
      backend: `parcel:${this.backend}`,
      // The native side does not say how many directories it holds.
      watchedDirs: 0,
      events: this.events,
      rescans: this.rescans,
      lastError: this.lastError,
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.started.settle(new Error('watcher closed'));
    await this.unsubscribeAll();
  }

  /** Subscribe; onReady on success, otherwise sync lost and a retry with backoff. */
  private attempt(): void {
    this.retryTimer = null;
    if (this.closed || this.dead) return;
    this.subscribeAll().then(
      () => {
        if (this.closed || this.dead) return;
        this.retries = 0;
        this.synced = true;
        this.lostReason = null;
        this.everReady = true;
        this.call(() => this.listener.onReady());
        this.started.settle();
      },
      (err) => {
        if (this.closed || this.dead) return;
        if (!isDir(this.root)) this.die(`worktree root not found: ${this.root}`);
        else if (!isDir(this.gitDir)) this.die(`git dir not found: ${this.gitDir}`);
        else this.lose(`cannot subscribe: ${(err as Error)?.message ?? err}`, false);
      },
    );
  }

  private async subscribeAll(): Promise<void> {
    this.parcel ??= createRequire(import.meta.url)('@parcel/watcher') as Parcel;
    const epoch = ++this.epoch;
    const inside = this.relative(this.gitDir);
    const subs: Subscription[] = [];
    try {
      subs.push(
        await this.parcel.subscribe(
          this.root,
          (err, events) => this.onEvents(epoch, err, events, false),
          { backend: this.backend, ignore: [this.worktreeIgnore(inside)] },
        ),
      );
      if (inside === null) {
        // A linked worktree or submodule: its git dir (holding the cookie dir) is elsewhere.
        // Subscribing the git dir itself also reports its removal.
        subs.push(
          await this.parcel.subscribe(
            this.gitDir,
            (err, events) => this.onEvents(epoch, err, events, true),
            { backend: this.backend, ignore: [this.gitDirIgnore()] },
          ),
        );
      }
    } catch (err) {
      await Promise.allSettled(subs.map((s) => s.unsubscribe()));
      throw err;
    }
    if (this.closed || epoch !== this.epoch) {
      await Promise.allSettled(subs.map((s) => s.unsubscribe()));
      return;
    }
    this.subs = subs;
  }

  private async unsubscribeAll(): Promise<void> {
    this.epoch++;
    const subs = this.subs;
    this.subs = [];
    await Promise.allSettled(subs.map((s) => s.unsubscribe()));
  }

  private onEvents(epoch: number, err: Error | null, events: ParcelEvent[], gitSub: boolean): void {
    if (epoch !== this.epoch || this.closed || this.dead) return;
    if (err) {
      this.lose(`@parcel/watcher error: ${err.message}`, true);
      return;
    }
    this.events += events.length;
    const batch: WatchBatch = { paths: [], cookies: [] };
    try {
      for (const ev of events) this.onEvent(ev, batch);
    } catch (e) {
      // What preceded the failure is still true: deliver it first.
      if (batch.paths.length > 0 || batch.cookies.length > 0) {
        this.call(() => this.listener.onBatch(batch));
      }
      if (e instanceof Fatal) this.die(e.message);
      else this.lose(`internal error: ${(e as Error)?.message ?? e}`, true);
      return;
    }
    if (batch.paths.length === 0 && batch.cookies.length === 0) return;
    if (gitSub && batch.cookies.length > 0) {
      setTimeout(() => {
        if (epoch === this.epoch && !this.closed && !this.dead) {
          this.call(() => this.listener.onBatch(batch));
        }
      }, COOKIE_DEFER_MS);
      return;
    }
    this.call(() => this.listener.onBatch(batch));
  }

  private onEvent(ev: ParcelEvent, batch: WatchBatch): void {
    const p = norm(ev.path);
    const slash = p.lastIndexOf('/');
    if (this.same(p.slice(0, slash), this.cookieDir)) {
      batch.cookies.push(toBytes(p.slice(slash + 1)));
      return;
    }
    if (this.same(p, this.gitDir) && ev.type === 'delete') throw new Fatal('git dir removed');
    const rel = p === '.' ? '' : this.relative(p);
    if (rel === null) return;
    if (rel === '') {
      // A deleted root shows up as `delete <root>`, a renamed one as `delete .` (trap T16).
      if (ev.type === 'delete') throw new Fatal('worktree root deleted or renamed');
      return;
    }
    const parts = rel.split('/');
    const gi = parts.indexOf('.git');
    if (gi === 0) {
      if (parts.length === 1 && ev.type === 'delete') throw new Fatal('.git removed');
      return;
    }
    if (gi > 0) {
      // Inside a nested repository: report the directory that holds it, never the path.
      batch.paths.push(toBytes(parts.slice(0, gi).join('/')));
      return;
    }
    batch.paths.push(toBytes(rel));
    // No isDir flag, and a directory moved in arrives as one event for its top: report
    // everything beneath it ourselves so git's untracked cache sees each entry.
    if (ev.type === 'create') scanBelow(ev.path, toBytes(rel), batch.paths);
  }

  /**
   * Completeness lost: announce it (once per reason while not ready), resubscribe from scratch.
   * An isolated error resubscribes at once; repeated failures back off.
   */
  private lose(reason: string, immediate: boolean): void {
    this.rescans++;
    this.lastError = reason;
    this.log('warn', `sync lost: ${reason}`);
    if (this.synced || reason !== this.lostReason) {
      this.call(() => this.listener.onSyncLost(reason));
    }
    this.synced = false;
    this.lostReason = reason;
    const n = this.retries++;
    const exp = immediate ? n - 1 : n;
    const delay = exp < 0 ? 0 : Math.min(this.retryDelayMs * 2 ** exp, this.retryMaxDelayMs);
    void this.unsubscribeAll().then(() => {
      if (this.closed || this.dead) return;
      this.retryTimer = setTimeout(() => this.attempt(), delay);
    });
  }

  private die(reason: string): void {
    this.dead = true;
    this.lastError = reason;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    void this.unsubscribeAll();
    this.log('error', `fatal: ${reason}`);
    if (!this.everReady && this.started.pending) this.started.settle(new Error(reason));
    else this.call(() => this.listener.onFatal(reason));
  }

  /** Ignore the git dir inside the worktree except the chain of directories to the cookies. */
  private worktreeIgnore(gitRel: string | null): RegExp {
    const gitPattern = gitRel === null ? '\\.git' : sepPattern(gitRel);
    const cookieRel = gitRel === null ? null : this.relativeTo(this.gitDir, this.cookieDir);
    return new RegExp(`^${gitPattern}[\\\\/]${allowChain(cookieRel)}`);
  }

  private gitDirIgnore(): RegExp {
    return new RegExp(`^${allowChain(this.relativeTo(this.gitDir, this.cookieDir))}`);
  }

  private relative(p: string): string | null {
    return this.relativeTo(this.root, p);
  }

  private relativeTo(base: string, p: string): string | null {
    if (this.same(p, base)) return '';
    const prefix = base.endsWith('/') ? base : `${base}/`;
    if (p.startsWith(prefix)) return p.slice(prefix.length);
    if (this.ci && p.toLowerCase().startsWith(prefix.toLowerCase())) return p.slice(prefix.length);
    return null;
  }

  private same(a: string, b: string): boolean {
    return a === b || (this.ci && a.toLowerCase() === b.toLowerCase());
  }

  private call(fn: () => void): void {
    if (this.closed) return;
    try {
      fn();
    } catch (err) {
      this.log('error', `listener threw: ${(err as Error)?.stack ?? err}`);
    }
  }

  private log(level: 'debug' | 'info' | 'warn' | 'error', msg: string): void {
    this.logFn?.(level, `watch(parcel): ${msg}`);
  }
}

class Fatal extends Error {}

/** Negative lookahead allowing `a`, `a/b` and everything under `a/b` for cookieRel 'a/b'. */
function allowChain(cookieRel: string | null): string {
  if (!cookieRel) return '';
  const parts = cookieRel.split('/').map(escapeRe);
  const alts: string[] = [];
  for (let i = 1; i <= parts.length; i++) alts.push(`${parts.slice(0, i).join('[\\\\/]')}$`);
  alts.push(`${parts.join('[\\\\/]')}[\\\\/]`);
  return `(?!${alts.join('|')})`;
}

function sepPattern(rel: string): string {
  return rel.split('/').map(escapeRe).join('[\\\\/]');
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** Report every entry below a created directory (not following symlinks, skipping .git). */
function scanBelow(absNative: string, relBytes: string, out: string[]): void {
  const top = Buffer.from(absNative, 'utf8');
  try {
    if (!lstatSync(top).isDirectory()) return;
  } catch {
    return;
  }
  const stack: Array<[Buffer, string]> = [[top, relBytes]];
  for (let item = stack.pop(); item; item = stack.pop()) {
    const [dir, rel] = item;
    let entries: Dirent<Buffer>[];
    try {
      entries = readdirSync(dir, { withFileTypes: true, encoding: 'buffer' });
    } catch {
      continue;
    }
    for (const e of entries) {
      const name = e.name.toString('latin1');
      if (name === '.git') continue;
      const childRel = `${rel}/${name}`;
      out.push(childRel);
      if (e.isDirectory()) stack.push([Buffer.concat([dir, SLASH, e.name]), childRel]);
    }
  }
}

const SLASH = Buffer.from('/');

/** Follows symlinks: the root itself may be reached through one. */
function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function fromBytes(s: string): string {
  return Buffer.from(s, 'latin1').toString('utf8');
}

function toBytes(s: string): string {
  return Buffer.from(s, 'utf8').toString('latin1');
}

function norm(p: string): string {
  const s = process.platform === 'win32' ? p.replace(/\\/g, '/') : p;
  return s.length > 1 && s.endsWith('/') ? s.slice(0, -1) : s;
}
