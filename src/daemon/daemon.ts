import fs from 'node:fs';
import path from 'node:path';
import { REQUEST, stateDirFor, stateFile } from '../contract/index.js';
import type { RepoInfo, SocketLocation } from '../git/index.js';
import { type IpcServer, type Reply, startServer } from '../ipc/index.js';
import { type Answer, Journal } from '../journal/index.js';
import { createWatcher, type Watcher } from '../watch/index.js';
import { CookieSync } from './cookies.js';
import { type Health, type Identity, startHealthChecks } from './health.js';
import type { Logger } from './logger.js';
import type { Settings } from './settings.js';
import type { StateDir } from './state-dir.js';

/** However shutdown goes, the process exits by then (a wedged close must not keep it alive). */
const SHUTDOWN_GUARD_MS = 5_000;

const toBytes = (p: string) => Buffer.from(p, 'utf8').toString('latin1');

export class Daemon {
  readonly socketPath: string;
  private readonly journal: Journal;
  private readonly cookies: CookieSync;
  private watcher: Watcher | null = null;
  private server: IpcServer | null = null;
  private health: Health | null = null;
  /** Our socket and pointer files: only these are ever removed, and only if still ours. */
  private socketId: Identity | null = null;
  private pointerId: Identity | null = null;
  private starting: Promise<void> | null = null;
  private readyWaiters: Array<() => void> = [];
  private readonly startedAt = Date.now();
  private stats = { queries: 0, lastAnswerMs: 0, lastTrivialReason: '', lastError: '' };
  private exiting: Promise<void> | null = null;
  private resolveExit!: (code: number) => void;
  /** Resolves with the process exit code once the daemon has stopped. */
  readonly exited = new Promise<number>((r) => {
    this.resolveExit = r;
  });

  constructor(
    private readonly repo: RepoInfo,
    private readonly settings: Settings,
    private readonly logger: Logger,
    private readonly location: SocketLocation,
    /** `<gitdir>/fsmond`, opened once: every state file goes through it. */
    private readonly stateDir: StateDir,
  ) {
    this.socketPath = location.path;
    this.journal = new Journal({
      maxRetainedPaths: settings.maxRetainedPaths,
      cacheBytes: settings.answerCacheBytes,
    });
    this.cookies = new CookieSync(
      stateDir,
      settings.cookieTimeoutMs,
      () => this.watcher?.rewatchCookieDir(),
      () => void this.shutdown(`state directory '${stateDir.path}' was removed`, 0),
    );
  }

  /**
   * Listens first (so clients queue instead of spawning more daemons), then watches. Rejects
   * with the ipc errors when the socket is in use or unusable; nothing is left behind then.
   */
  start(): Promise<void> {
    this.starting ??= this.doStart();
    return this.starting;
  }

  private async doStart(): Promise<void> {
    this.server = await startServer({
      socketPath: this.socketPath,
      handler: (req) => this.handle(req),
      maxRequestBytes: this.settings.maxRequestBytes,
      requestTimeoutMs: this.settings.requestTimeoutMs,
      onStolen: () =>
        void this.shutdown(
          this.health?.check() ?? `socket '${this.socketPath}' was removed or taken over`,
          0,
        ),
      log: this.log,
    });
    this.socketId = lstatIdentity(this.socketPath);
    if (this.exiting) return; // a signal while claiming the socket: shutdown closes it
    try {
      if (this.location.relocated) this.writePointer();
      this.log('info', `listening on '${this.socketPath}' for '${this.repo.worktree}'`);
      this.health = startHealthChecks({
        worktree: this.repo.worktree,
        gitDir: this.repo.gitDir,
        intervalMs: this.settings.healthIntervalMs,
        onGone: (reason) => void this.shutdown(reason, 0),
      });
      this.watcher = this.createWatcher();
    } catch (err) {
      void this.shutdown(`start failed: ${(err as Error).message}`, 1);
      throw err;
    }
    this.watcher.start().catch((err: Error) => {
      void this.shutdown(`watching failed: ${err.message}`, 1);
    });
  }

  private createWatcher(): Watcher {
    return createWatcher({
      backend: this.settings.backend,
      root: toBytes(this.repo.worktree),
      gitDir: toBytes(this.repo.gitDir),
      cookieDir: toBytes(stateFile(this.repo.gitDir, 'cookieDir')),
      log: this.log,
      listener: {
        onBatch: (b) => {
          this.journal.add(b.paths);
          if (b.cookies.length) this.cookies.seen(b.cookies);
        },
        onSyncLost: (reason) => {
          this.stats.lastError = reason;
          this.log('warn', `sync lost (${reason}): answering / until watching is complete`);
          this.journal.invalidate();
          this.cookies.abortAll();
        },
        onReady: () => {
          const epoch = this.journal.startEpoch();
          this.log(
            'info',
            `watching ${this.watcher?.stats().watchedDirs} directories (epoch ${epoch})`,
          );
          for (const w of this.readyWaiters.splice(0)) w();
        },
        onFatal: (reason) => void this.shutdown(reason, 0),
      },
    });
  }

  /** Stops once, logging why; removes only files that still are the ones we created. */
  shutdown(reason: string, code: number): Promise<void> {
    if (this.exiting) return this.exiting;
    this.exiting = (async () => {
      const guard = setTimeout(() => this.resolveExit(code), SHUTDOWN_GUARD_MS);
      this.health?.stop();
      const movedGitDir = this.followGitDir();
      this.log(code === 0 ? 'info' : 'error', `shutting down: ${reason}`);
      this.cookies.abortAll();
      for (const w of this.readyWaiters.splice(0)) w();
      await this.starting?.catch(() => {});
      this.health?.stop();
      await this.server?.close().catch(() => {});
      await this.watcher?.close().catch(() => {});
      if (this.pointerId) unlinkIfSame(() => this.stateDir.file('socketPointer'), this.pointerId);
      if (movedGitDir && this.socketId && !this.location.relocated) {
        // Our socket moved with the git dir; the next daemon would reclaim it, but it is ours.
        unlinkIfSame(() => path.join(movedGitDir, path.basename(this.socketPath)), this.socketId);
      }
      clearTimeout(guard);
      this.resolveExit(code);
    })();
    return this.exiting;
  }

  /** If the git dir was renamed, point the log at its new place and return that place. */
  private followGitDir(): string | null {
    if (fs.existsSync(stateDirFor(this.repo.gitDir))) return null;
    const moved = this.health?.findGitDir();
    if (!moved || moved === this.repo.gitDir) return null;
    this.logger.moveTo(moved);
    return moved;
  }

  private writePointer(): void {
    const file = this.stateDir.file('socketPointer');
    const tmp = `${file}.${process.pid}.tmp`;
    fs.rmSync(tmp, { force: true }); // left by a killed daemon that had our pid
    const fd = fs.openSync(
      tmp,
      fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL,
      0o600,
    );
    try {
      fs.writeSync(fd, `${this.socketPath}\n`);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
    this.pointerId = lstatIdentity(file);
  }

  private readonly log = (level: 'debug' | 'info' | 'warn' | 'error', msg: string) =>
    this.logger.log(level, msg);

  private async handle(req: Buffer): Promise<Reply> {
    const request = req.toString('latin1');
    if (request === REQUEST.quit) {
      return { payload: [], afterSend: () => void this.shutdown('quit requested', 0) };
    }
    if (request === REQUEST.status)
      return { payload: [Buffer.from(JSON.stringify(this.status()))] };
    if (request === REQUEST.flush) {
      if (this.journal.ready) this.journal.startEpoch();
      this.cookies.abortAll();
      return { payload: [this.journal.trivialAnswer('flush requested').payload] };
    }
    const answer = await this.query(request);
    return { payload: [answer.payload] };
  }

  private async query(request: string): Promise<Answer> {
    const t0 = performance.now();
    this.stats.queries++;
    let answer: Answer;
    if (this.exiting) {
      answer = this.journal.trivialAnswer('shutting down');
    } else if (!(await this.waitReady())) {
      answer = this.journal.trivialAnswer('not watching yet');
    } else if (!(await this.cookies.sync())) {
      answer = this.journal.trivialAnswer('cookie not seen in time');
    } else {
      answer = this.journal.answer(request);
    }
    this.stats.lastAnswerMs = performance.now() - t0;
    if (answer.trivial) {
      this.stats.lastTrivialReason = answer.reason ?? '';
      this.log('debug', `answered / to '${request.slice(0, 80)}': ${answer.reason}`);
    }
    return answer;
  }

  private waitReady(): Promise<boolean> {
    if (this.journal.ready) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        resolve(this.journal.ready && !this.exiting);
      };
      const timer = setTimeout(() => {
        this.readyWaiters = this.readyWaiters.filter((w) => w !== done);
        resolve(false);
      }, this.settings.readyTimeoutMs);
      this.readyWaiters.push(done);
    });
  }

  status(): Record<string, unknown> {
    const w = this.watcher?.stats();
    const j = this.journal.stats();
    return {
      pid: process.pid,
      worktree: this.repo.worktree,
      gitDir: this.repo.gitDir,
      socket: this.socketPath,
      watching: this.journal.ready,
      token: this.journal.pinnedToken(),
      uptimeMs: Date.now() - this.startedAt,
      backend: w?.backend ?? null,
      watchedDirectories: w?.watchedDirs ?? 0,
      events: w?.events ?? 0,
      rescans: w?.rescans ?? 0,
      queries: this.stats.queries,
      answers: j.answers,
      trivialAnswers: j.trivialAnswers,
      cacheHits: j.cacheHits,
      retainedPaths: j.retainedPaths,
      lastAnswerMs: Math.round(this.stats.lastAnswerMs * 1000) / 1000,
      lastTrivialReason: this.stats.lastTrivialReason || null,
      rssBytes: process.memoryUsage.rss(),
      lastError: w?.lastError ?? (this.stats.lastError || null),
    };
  }
}

function lstatIdentity(p: string): Identity | null {
  try {
    const st = fs.lstatSync(p);
    return { dev: st.dev, ino: st.ino };
  } catch {
    return null;
  }
}

function unlinkIfSame(where: () => string, id: Identity): void {
  try {
    const p = where();
    const now = lstatIdentity(p);
    if (now && now.dev === id.dev && now.ino === id.ino) fs.rmSync(p, { force: true });
  } catch {
    // its directory is no longer ours to touch
  }
}
