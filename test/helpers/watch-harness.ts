/**
 * Drives a real watcher on a real temporary worktree. No timing assertions: `sync()` uses the
 * daemon's own handshake (create a cookie file, wait until its name shows up in a batch), so
 * every change made before it has been delivered when it returns. Timeouts are hang guards.
 */
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  realpathSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CreateWatcherOptions, createWatcher } from '../../src/watch/index.js';
import type { WatchBatch, Watcher, WatchListener } from '../../src/watch/types.js';

export const HANG_GUARD_MS = 30_000;

export interface Worktree {
  /** Parent temp dir; `outside` is a sibling of the root, outside the worktree. */
  base: string;
  root: string;
  gitDir: string;
  cookieDir: string;
  outside: string;
  cleanup(): void;
}

/** A worktree with `.git/` (or, linked, a `.git` file and the git dir elsewhere). */
export function makeWorktree(opts: { linked?: boolean } = {}): Worktree {
  const base = realpathSync(mkdtempSync(join(tmpdir(), 'fsmond-watch-')));
  const root = join(base, 'wt');
  mkdirSync(root);
  let gitDir: string;
  if (opts.linked) {
    gitDir = join(base, 'main.git', 'worktrees', 'wt');
    mkdirSync(gitDir, { recursive: true });
    writeFileSync(join(root, '.git'), `gitdir: ${gitDir}\n`);
  } else {
    gitDir = join(root, '.git');
    mkdirSync(join(gitDir, 'objects'), { recursive: true });
    writeFileSync(join(gitDir, 'HEAD'), 'ref: refs/heads/main\n');
  }
  const cookieDir = join(gitDir, 'fsmonitor--daemon', 'cookies');
  mkdirSync(cookieDir, { recursive: true });
  const outside = join(base, 'outside');
  mkdirSync(outside);
  return {
    base,
    root,
    gitDir,
    cookieDir,
    outside,
    cleanup: () => rmSync(base, { recursive: true, force: true }),
  };
}

interface Waiter {
  pred: () => boolean;
  resolve: () => void;
}

/** A listener that records everything and checks the path invariants on every batch. */
export class Collector implements WatchListener {
  readonly batches: WatchBatch[] = [];
  readonly syncLost: string[] = [];
  readonly fatal: string[] = [];
  readonly violations: string[] = [];
  readonly cookiesSeen = new Set<string>();
  ready = 0;
  private unread: string[] = [];
  private waiters: Waiter[] = [];

  onBatch(batch: WatchBatch): void {
    this.batches.push({ paths: [...batch.paths], cookies: [...batch.cookies] });
    for (const p of batch.paths) {
      if (!validPath(p)) this.violations.push(p);
      this.unread.push(p);
    }
    for (const c of batch.cookies) this.cookiesSeen.add(c);
    this.poke();
  }

  onSyncLost(reason: string): void {
    this.syncLost.push(reason);
    this.poke();
  }

  onReady(): void {
    this.ready++;
    this.poke();
  }

  onFatal(reason: string): void {
    this.fatal.push(reason);
    this.poke();
  }

  /** Paths delivered since the last call. */
  take(): string[] {
    const out = this.unread;
    this.unread = [];
    return out;
  }

  waitFor(pred: () => boolean, what: string, timeoutMs = HANG_GUARD_MS): Promise<void> {
    if (pred()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`hang guard: still waiting for ${what} after ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter: Waiter = {
        pred,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      this.waiters.push(waiter);
    });
  }

  private poke(): void {
    for (const w of [...this.waiters]) {
      if (w.pred()) {
        this.waiters = this.waiters.filter((x) => x !== w);
        w.resolve();
      }
    }
  }
}

/** Contract invariants: relative, '/'-separated, never empty, never inside .git. */
export function validPath(p: string): boolean {
  if (p === '' || p.startsWith('/') || p.endsWith('/') || p.includes('//')) return false;
  return !p.split('/').some((c) => c === '.git' || c === '.' || c === '..');
}

let cookieSeq = 0;

export class Harness {
  readonly wt: Worktree;
  readonly c = new Collector();
  readonly watcher: Watcher;
  /**
   * @parcel/watcher drops a create+delete pair landing in one batch (docs/linux-watching.md#t17),
   * so with it the
   * cookie may only be deleted once seen. inotify reports both, so the test unlinks at once.
   */
  private readonly unlinkAfterSeen: boolean;

  constructor(wt: Worktree, extra: Partial<CreateWatcherOptions> = {}) {
    this.wt = wt;
    this.unlinkAfterSeen = extra.backend === 'parcel';
    this.watcher = createWatcher({
      root: wt.root,
      gitDir: wt.gitDir,
      cookieDir: wt.cookieDir,
      listener: this.c,
      ...extra,
    });
  }

  async start(): Promise<void> {
    await withGuard(this.watcher.start(), 'start()');
    await this.sync();
  }

  /**
   * The daemon's handshake: once the cookie's name is reported, every earlier change has been
   * delivered. Returns the sorted, de-duplicated paths delivered since the previous sync.
   */
  async sync(): Promise<string[]> {
    const name = `ck-${process.pid}-${cookieSeq++}`;
    const p = join(this.wt.cookieDir, name);
    closeSync(openSync(p, 'wx', 0o600));
    if (!this.unlinkAfterSeen) unlinkSync(p);
    await this.c.waitFor(() => this.c.cookiesSeen.has(name), `cookie ${name}`);
    if (this.unlinkAfterSeen) unlinkSync(p);
    return [...new Set(this.c.take())].sort();
  }

  /** Absolute path of a worktree path given as a byte string, as a Buffer for fs calls. */
  p(rel: string): Buffer {
    return Buffer.from(`${this.wt.root}/${rel}`, 'latin1');
  }

  async close(): Promise<void> {
    await withGuard(this.watcher.close(), 'close()');
  }
}

export function withGuard<T>(p: Promise<T>, what: string, ms = HANG_GUARD_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`hang guard: ${what} after ${ms} ms`)), ms);
  });
  return Promise.race([p, guard]).finally(() => clearTimeout(timer));
}

export function sorted(xs: Iterable<string>): string[] {
  return [...new Set(xs)].sort();
}
