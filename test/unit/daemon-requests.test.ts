/**
 * The daemon in this process with a fake watcher the test drives: which answer a query gets
 * for each state of watching, without a kernel or a git in between. Queries go through the
 * real socket, from the worktree root as git asks.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, test } from 'node:test';
import {
  type DaemonStatus,
  NEVER_VALID_ID_PREFIX,
  REQUEST,
  socketPathFor,
  TRIVIAL_REASON,
} from '../../src/contract/index.js';
import { Daemon } from '../../src/daemon/daemon.js';
import { Logger } from '../../src/daemon/logger.js';
import { settingsFrom } from '../../src/daemon/settings.js';
import { prepareStateDir } from '../../src/daemon/startup.js';
import { sendRequest } from '../../src/ipc/index.js';
import type {
  Watcher,
  WatcherOptions,
  WatcherStats,
  WatchListener,
} from '../../src/watch/index.js';

/** Drives the daemon's listener by hand; cookies are reported when the test says so. */
class FakeWatcher implements Watcher {
  readonly listener: WatchListener;
  blocked: string | null = null;
  unwatchableDirs: string[] = [];
  /** Cookie names created so far and not yet reported. */
  readonly cookies: string[] = [];
  /** Report every cookie as soon as it appears. */
  autoCookies = true;
  private readonly fsWatch: fs.FSWatcher;
  private onCookie: (() => void) | null = null;

  constructor(opts: WatcherOptions) {
    this.listener = opts.listener;
    const dir = Buffer.from(opts.cookieDir, 'latin1').toString('utf8');
    this.fsWatch = fs.watch(dir, (_, name) => {
      if (!name || this.cookies.includes(name)) return;
      this.cookies.push(name);
      if (this.autoCookies) this.deliverCookies();
      this.onCookie?.();
    });
  }

  start(): Promise<void> {
    return new Promise(() => {}); // ready when the test says so
  }
  ready(): void {
    this.listener.onReady();
  }
  changed(...paths: string[]): void {
    this.listener.onBatch({ paths, cookies: [] });
  }
  /** The changes, then every cookie seen so far, in one read, as the kernel orders them. */
  deliverCookies(...pathsBefore: string[]): void {
    this.listener.onBatch({ paths: pathsBefore, cookies: this.cookies.splice(0) });
  }
  cookieCreated(): Promise<void> {
    if (this.cookies.length > 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.onCookie = () => {
        this.onCookie = null;
        resolve();
      };
    });
  }
  rewatchCookieDir(): void {}
  stats(): WatcherStats {
    return {
      backend: 'fake',
      watchedDirs: 1,
      events: 0,
      rescans: 0,
      lastError: null,
      blocked: this.blocked,
      unwatchableDirs: this.unwatchableDirs.length,
      unwatchableSample: this.unwatchableDirs.slice(0, 5),
      limits: null,
    };
  }
  unwatchable(): readonly string[] {
    return this.unwatchableDirs;
  }
  blockedReason(): string | null {
    return this.blocked;
  }
  async close(): Promise<void> {
    this.fsWatch.close();
  }
}

interface Harness {
  wt: string;
  daemon: Daemon;
  watcher: FakeWatcher;
  ask(token: string, fromDir?: string): Promise<{ token: string; paths: string[]; ms: number }>;
  status(): Promise<DaemonStatus>;
}

const running: Daemon[] = [];
afterEach(async () => {
  for (const d of running.splice(0)) await d.shutdown('test over', 0);
});

async function harness(config: Record<string, string> = {}): Promise<Harness> {
  const wt = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'fsmond-unit-')));
  const gitDir = path.join(wt, '.git');
  fs.mkdirSync(gitDir);
  const stateDir = prepareStateDir(gitDir);
  const settings = settingsFrom(new Map(Object.entries(config)));
  const logger = new Logger({
    dir: stateDir,
    level: 'debug',
    maxBytes: 1 << 20,
    toStderr: false,
  });
  let watcher: FakeWatcher | null = null;
  const daemon = new Daemon(
    { worktree: wt, gitDir, commonDir: gitDir, gitDirIsExternal: false },
    settings,
    logger,
    { path: socketPathFor(gitDir), relocated: false },
    stateDir,
    {
      createWatcher: (opts) => {
        watcher = new FakeWatcher(opts);
        return watcher;
      },
    },
  );
  running.push(daemon);
  void daemon.exited.then(() => fs.rmSync(wt, { recursive: true, force: true }));
  await daemon.start();
  const sock = socketPathFor(gitDir);
  return {
    wt,
    daemon,
    watcher: watcher!,
    async ask(token, fromDir = wt) {
      const t0 = performance.now();
      const raw = await sendRequest(sock, Buffer.from(token, 'latin1'), { fromDir });
      const parts = raw.toString('latin1').split('\0');
      assert.equal(parts.at(-1), '', 'the answer ends with NUL');
      return { token: parts[0]!, paths: parts.slice(1, -1), ms: performance.now() - t0 };
    },
    async status() {
      return JSON.parse((await sendRequest(sock, Buffer.from(REQUEST.status))).toString());
    },
  };
}

const neverValid = (token: string) => token.startsWith(`builtin:${NEVER_VALID_ID_PREFIX.daemon}`);

test('ready, then cookie, then journal: an answer holds what was read before its cookie', async () => {
  const h = await harness({ 'fsmond.readytimeoutms': '150' });
  const early = await h.ask('0');
  assert.deepEqual(early.paths, ['/']);
  assert.ok(neverValid(early.token), 'no token before watching is complete');
  assert.equal((await h.status()).lastTrivialReason, TRIVIAL_REASON.notWatching);

  h.watcher.changed('before-ready'); // not watching yet: nothing to record it against
  h.watcher.ready();
  const t0 = (await h.ask('0')).token;
  assert.ok(!neverValid(t0));
  h.watcher.changed('a');
  h.watcher.autoCookies = false;
  const pending = h.ask(t0);
  await h.watcher.cookieCreated();
  h.watcher.changed('b');
  h.watcher.deliverCookies('c');
  const answer = await pending;
  assert.deepEqual(answer.paths.sort(), ['a', 'b', 'c']);
  h.watcher.changed('after-cookie');
  h.watcher.autoCookies = true;
  assert.deepEqual((await h.ask(answer.token)).paths, ['after-cookie']);
});

test('sync lost: a query waiting for its cookie gets / at once, and no older token is valid', async () => {
  const h = await harness({ 'fsmond.cookietimeoutms': '5000' });
  h.watcher.ready();
  const t0 = (await h.ask('0')).token;
  h.watcher.autoCookies = false;
  const pending = h.ask(t0);
  await h.watcher.cookieCreated();
  h.watcher.listener.onSyncLost('queue overflow');
  const lost = await pending;
  assert.deepEqual(lost.paths, ['/']);
  assert.ok(lost.ms < 2500, `answered after ${lost.ms} ms, not at the cookie timeout`);
  assert.ok(neverValid(lost.token));
  h.watcher.autoCookies = true;
  h.watcher.ready();
  assert.deepEqual((await h.ask(t0)).paths, ['/'], 'a token from before the loss');
});

test('flush: a new epoch, older tokens get /, the new one is incremental', async () => {
  const h = await harness();
  h.watcher.ready();
  const t0 = (await h.ask('0')).token;
  const flushed = (await sendRequest(h.daemon.socketPath, Buffer.from(REQUEST.flush)))
    .toString('latin1')
    .split('\0');
  assert.deepEqual(flushed.slice(1), ['/', '']);
  assert.deepEqual((await h.ask(t0)).paths, ['/']);
  h.watcher.changed('x');
  assert.deepEqual((await h.ask(flushed[0]!)).paths, ['x']);
});

test('a lasting reason watching cannot complete: / at once, not after readyTimeoutMs', async () => {
  const h = await harness({ 'fsmond.readytimeoutms': '5000' });
  h.watcher.blocked = 'inotify watch limit reached';
  const a = await h.ask('0');
  assert.deepEqual(a.paths, ['/']);
  assert.ok(neverValid(a.token));
  assert.ok(a.ms < 2500, `answered after ${a.ms} ms`);
  const s = await h.status();
  assert.equal(s.blockedReason, 'inotify watch limit reached');
  assert.equal(s.lastTrivialReason, TRIVIAL_REASON.blocked);
});

test('unwatchable directories are in every incremental answer, cached or not', async () => {
  const h = await harness();
  h.watcher.ready();
  h.watcher.unwatchableDirs = ['locked', 'sub/n\xe9'];
  const t0 = (await h.ask('0')).token;
  h.watcher.changed('a');
  const first = await h.ask(t0);
  assert.deepEqual(first.paths.sort(), ['a', 'locked', 'sub/n\xe9']);
  assert.deepEqual((await h.ask(t0)).paths.sort(), ['a', 'locked', 'sub/n\xe9'], 'asked again');
  const next = await h.ask(first.token);
  assert.deepEqual(next.paths.sort(), ['locked', 'sub/n\xe9'], 'with nothing else changed');
  assert.deepEqual((await h.ask(next.token)).paths.sort(), ['locked', 'sub/n\xe9']);
  const s = await h.status();
  assert.deepEqual(s.unwatchable, ['locked', 'sub/n\ufffd']);
  assert.equal(s.unwatchableCount, 2);
  h.watcher.unwatchableDirs = [];
  const last = await h.ask(next.token);
  h.watcher.changed('b');
  assert.deepEqual((await h.ask(last.token)).paths, ['b']);
});

test('asked from a directory that is not the worktree root: / with a never-valid token', async () => {
  const h = await harness();
  h.watcher.ready();
  const t0 = (await h.ask('0')).token;
  fs.mkdirSync(path.join(h.wt, 'sub'));
  for (const dir of [os.tmpdir(), path.join(h.wt, 'sub')]) {
    const a = await h.ask(t0, dir);
    assert.deepEqual(a.paths, ['/'], dir);
    assert.ok(neverValid(a.token), a.token);
  }
  assert.equal((await h.status()).lastTrivialReason, TRIVIAL_REASON.otherWorktree);
  assert.deepEqual((await h.ask(t0)).paths, [], 'from the root it still is incremental');
});
