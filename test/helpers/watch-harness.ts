/**
 * Drives a real watcher on a real temporary worktree. No timing assertions: `sync()` uses the
 * daemon's own handshake (create a cookie file, wait until its name shows up in a batch), so
 * every change made before it has been delivered when it returns. Timeouts are hang guards.
 */

import assert from 'node:assert/strict';
import { closeSync, mkdirSync, openSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach } from 'node:test';
import { type CreateWatcherOptions, createWatcher } from '../../src/watch/index.js';
import type { WatchBatch, Watcher, WatchListener } from '../../src/watch/types.js';
import { scratchDir } from './scratch.js';
import { waitFor, withHangGuard } from './wait.js';

export interface Worktree {
  /** Parent temp dir; `outside` is a sibling of the root, outside the worktree. */
  base: string;
  root: string;
  gitDir: string;
  cookieDir: string;
  outside: string;
}

/** A worktree with `.git/` (or, linked, a `.git` file and the git dir elsewhere). */
export function makeWorktree(opts: { linked?: boolean } = {}): Worktree {
  const base = scratchDir('fsmond-watch-');
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
  };
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

  onBatch(batch: WatchBatch): void {
    this.batches.push({ paths: [...batch.paths], cookies: [...batch.cookies] });
    for (const p of batch.paths) {
      if (!validPath(p)) this.violations.push(p);
      this.unread.push(p);
    }
    for (const c of batch.cookies) this.cookiesSeen.add(c);
  }

  onSyncLost(reason: string): void {
    this.syncLost.push(reason);
  }

  onReady(): void {
    this.ready++;
  }

  onFatal(reason: string): void {
    this.fatal.push(reason);
  }

  /** Paths delivered since the last call. */
  take(): string[] {
    const out = this.unread;
    this.unread = [];
    return out;
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
    await withHangGuard('start()', this.watcher.start());
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
    await waitFor(`cookie ${name}`, () => this.c.cookiesSeen.has(name));
    if (this.unlinkAfterSeen) unlinkSync(p);
    return [...new Set(this.c.take())].sort();
  }

  /** Absolute path of a worktree path given as a byte string, as a Buffer for fs calls. */
  p(rel: string): Buffer {
    return Buffer.from(`${this.wt.root}/${rel}`, 'latin1');
  }

  async close(): Promise<void> {
    await withHangGuard('close()', this.watcher.close());
  }
}

export function sorted(xs: Iterable<string>): string[] {
  return [...new Set(xs)].sort();
}

/**
 * The calling file's harness of the running test: `track(h)` returns `h`; after each test the
 * tracked harness is closed and, with `check`, its delivered paths and fatal reports asserted.
 */
export function closeAfterEachTest(opts: { check?: boolean } = {}): (h: Harness) => Harness {
  let current: Harness | null = null;
  afterEach(async () => {
    const h = current;
    current = null;
    if (!h) return;
    await h.close();
    if (opts.check) {
      assert.deepEqual(h.c.violations, [], 'paths broke the contract (empty, absolute, in .git)');
      assert.deepEqual(h.c.fatal, []);
    }
  });
  return (h) => {
    current = h;
    return h;
  };
}
