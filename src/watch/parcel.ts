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
import { packageRequire } from '../contract/index.js';
import { errCode, FatalError, isDenied, SyncLostError } from './errors.js';
import { Lifecycle, type RetryOptions } from './lifecycle.js';
import type { WatchBatch, Watcher, WatcherOptions, WatcherStats } from './types.js';

type Parcel = typeof import('@parcel/watcher');
type Subscription = Awaited<ReturnType<Parcel['subscribe']>>;
type ParcelEvent = Parameters<Parameters<Parcel['subscribe']>[1]>[1][number];
export type ParcelBackend = 'fs-events' | 'windows' | 'inotify';

export interface ParcelWatcherOptions extends WatcherOptions, RetryOptions {
  /** Defaults to the platform's native backend; 'inotify' only for tests on Linux. */
  parcelBackend?: ParcelBackend;
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
  private readonly listener: WatcherOptions['listener'];
  private readonly backend: ParcelBackend;
  private readonly logFn: WatcherOptions['log'];
  private readonly ci: boolean;
  /** Native-string forms ('/'-separated) of the three directories. */
  private readonly root: string;
  private readonly gitDir: string;
  private readonly cookieDir: string;
  private readonly life: Lifecycle;
  private parcel: Parcel | null = null;
  private subs: Subscription[] = [];
  /**
   * Which set of subscriptions is current, bumped on every (un)subscribe: callbacks of older
   * ones are ignored. Not the journal's token epoch.
   */
  private subscription = 0;
  /** Directories below created ones that we may not list (byte-string paths). */
  private readonly denied = new Set<string>();
  private events = 0;

  constructor(opts: ParcelWatcherOptions) {
    this.listener = opts.listener;
    this.logFn = opts.log;
    this.backend = opts.parcelBackend ?? nativeParcelBackend();
    this.life = new Lifecycle(
      opts,
      () => this.attempt(),
      (level, msg) => this.log(level, msg),
    );
    this.ci = process.platform === 'win32' || process.platform === 'darwin';
    this.root = norm(fromBytes(opts.root));
    this.gitDir = norm(fromBytes(opts.gitDir));
    this.cookieDir = norm(fromBytes(opts.cookieDir));
  }

  start(): Promise<void> {
    return this.life.start();
  }

  rewatchCookieDir(): void {
    // Parcel watches recursively: a re-created cookie dir is picked up without help.
  }

  /**
   * Only what we found unreadable while listing a created directory ourselves; what the
   * native side cannot read it does not tell. Entries that are gone are dropped here.
   */
  unwatchable(): readonly string[] {
    for (const rel of this.denied) {
      if (!isDir(this.abs(rel))) this.denied.delete(rel);
    }
    return [...this.denied];
  }

  blockedReason(): string | null {
    return this.life.blockedReason();
  }

  stats(): WatcherStats {
    // The native side does not say how many directories it holds.
    return this.life.stats(`parcel:${this.backend}`, 0, this.events, this.unwatchable(), null);
  }

  async close(): Promise<void> {
    this.life.close();
    await this.unsubscribeAll();
  }

  /** Subscribe; onReady on success, otherwise sync lost and a retry with backoff. */
  private attempt(): void {
    this.subscribeAll().then(
      () => {
        if (this.life.running) this.life.ready();
      },
      (err) => {
        if (!this.life.running) return;
        if (!isDir(this.root)) this.die(`worktree root not found: ${this.root}`);
        else if (!isDir(this.gitDir)) this.die(`git dir not found: ${this.gitDir}`);
        else this.lose(subscribeFailed(err));
      },
    );
  }

  private async subscribeAll(): Promise<void> {
    this.parcel ??= packageRequire('@parcel/watcher') as Parcel;
    const current = ++this.subscription;
    const inside = this.relative(this.gitDir);
    const subs: Subscription[] = [];
    try {
      subs.push(
        await this.parcel.subscribe(
          this.root,
          (err, events) => this.onEvents(current, err, events, false),
          { backend: this.backend, ignore: [this.worktreeIgnore(inside)] },
        ),
      );
      if (inside === null) {
        // A linked worktree or submodule: its git dir (holding the cookie dir) is elsewhere.
        // Subscribing the git dir itself also reports its removal.
        subs.push(
          await this.parcel.subscribe(
            this.gitDir,
            (err, events) => this.onEvents(current, err, events, true),
            { backend: this.backend, ignore: [this.gitDirIgnore()] },
          ),
        );
      }
    } catch (err) {
      await Promise.allSettled(subs.map((s) => s.unsubscribe()));
      throw err;
    }
    if (this.life.isClosed || current !== this.subscription) {
      await Promise.allSettled(subs.map((s) => s.unsubscribe()));
      return;
    }
    this.subs = subs;
  }

  private async unsubscribeAll(): Promise<void> {
    this.subscription++;
    const subs = this.subs;
    this.subs = [];
    await Promise.allSettled(subs.map((s) => s.unsubscribe()));
  }

  private onEvents(
    current: number,
    err: Error | null,
    events: ParcelEvent[],
    gitSub: boolean,
  ): void {
    if (current !== this.subscription || !this.life.running) return;
    if (err) {
      // FSEvents "must rescan" and ReadDirectoryChangesW buffer overflows end up here.
      this.lose(new SyncLostError(`@parcel/watcher error: ${err.message}`, 'overflow'));
      return;
    }
    this.events += events.length;
    const batch: WatchBatch = { paths: [], cookies: [] };
    try {
      for (const ev of events) this.onEvent(ev, batch);
    } catch (e) {
      // What preceded the failure is still true: deliver it first.
      if (batch.paths.length > 0 || batch.cookies.length > 0) {
        this.life.call(() => this.listener.onBatch(batch));
      }
      if (e instanceof FatalError) this.die(e.reason);
      else this.lose(e);
      return;
    }
    if (batch.paths.length === 0 && batch.cookies.length === 0) return;
    if (gitSub && batch.cookies.length > 0) {
      setTimeout(() => {
        if (current === this.subscription && this.life.running) {
          this.life.call(() => this.listener.onBatch(batch));
        }
      }, COOKIE_DEFER_MS);
      return;
    }
    this.life.call(() => this.listener.onBatch(batch));
  }

  private onEvent(ev: ParcelEvent, batch: WatchBatch): void {
    const p = norm(ev.path);
    const slash = p.lastIndexOf('/');
    if (this.same(p.slice(0, slash), this.cookieDir)) {
      batch.cookies.push(toBytes(p.slice(slash + 1)));
      return;
    }
    if (this.same(p, this.gitDir) && ev.type === 'delete') throw new FatalError('git dir removed');
    const rel = p === '.' ? '' : this.relative(p);
    if (rel === null) return;
    if (rel === '') {
      // A deleted root shows up as `delete <root>`, a renamed one as `delete .` (docs/linux-watching.md#t16).
      if (ev.type === 'delete') throw new FatalError('worktree root deleted or renamed');
      return;
    }
    const parts = rel.split('/');
    const gi = parts.indexOf('.git');
    if (gi === 0) {
      if (parts.length === 1 && ev.type === 'delete') throw new FatalError('.git removed');
      return;
    }
    if (gi > 0) {
      // Inside a nested repository: report the directory that holds it, never the path.
      batch.paths.push(toBytes(parts.slice(0, gi).join('/')));
      return;
    }
    const relBytes = toBytes(rel);
    batch.paths.push(relBytes);
    // No isDir flag, and a directory moved in arrives as one event for its top: report
    // everything beneath it ourselves so git's untracked cache sees each entry. An event on
    // a directory we could not list (its chmod, say) is a chance it is readable now.
    if (ev.type === 'create' || this.denied.delete(relBytes)) {
      scanBelow(ev.path, relBytes, batch.paths, this.denied);
    }
  }

  /** Completeness lost: drop the subscriptions; the lifecycle announces and retries. */
  private lose(err: unknown): void {
    this.life.fail(err, this.unsubscribeAll());
  }

  private die(reason: string): void {
    if (!this.life.running) return;
    void this.unsubscribeAll();
    this.life.die(reason);
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

  private abs(relBytes: string): string {
    return `${this.root}/${fromBytes(relBytes)}`;
  }

  private log(level: 'debug' | 'info' | 'warn' | 'error', msg: string): void {
    this.logFn?.(level, `watch(parcel): ${msg}`);
  }
}

/** Out of watches (inotify, tests only) is lasting; anything else may pass. */
function subscribeFailed(err: unknown): SyncLostError {
  const msg = (err as Error)?.message ?? String(err);
  const kind = /No space left on device|Too many open files/.test(msg) ? 'limit' : 'error';
  return new SyncLostError(`cannot subscribe: ${msg}`, kind);
}

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

/**
 * Report every entry below a created directory (not following symlinks, skipping .git).
 * Directories we may not list go into `denied`: nothing below them can be reported.
 */
function scanBelow(absNative: string, relBytes: string, out: string[], denied: Set<string>): void {
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
    } catch (err) {
      if (isDenied(errCode(err))) denied.add(rel);
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
