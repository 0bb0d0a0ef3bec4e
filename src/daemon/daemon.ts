import fs from 'node:fs';
import {
  cookieDirFor,
  filesystemOf,
  RepoError,
  type RepoInfo,
  socketPathFor,
  stateDirFor,
} from '../git/index.js';
import { type IpcServer, type Reply, startServer } from '../ipc/index.js';
import { type Answer, Journal } from '../journal/index.js';
import { createWatcher, type Watcher } from '../watch/index.js';
import { CookieSync } from './cookies.js';
import { startHealthChecks } from './health.js';
import type { Logger } from './logger.js';
import type { Settings } from './settings.js';

/** Our own request, next to git's `quit`, `flush` and tokens: a JSON snapshot for the CLI. */
export const STATUS_REQUEST = 'fsmond:status';

const toBytes = (p: string) => Buffer.from(p, 'utf8').toString('latin1');

export class Daemon {
  readonly socketPath: string;
  private readonly journal: Journal;
  private readonly cookies: CookieSync;
  private watcher: Watcher | null = null;
  private server: IpcServer | null = null;
  private stopHealth: () => void = () => {};
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
  ) {
    this.socketPath = socketPathFor(repo.gitDir);
    this.journal = new Journal({
      maxRetainedPaths: settings.maxRetainedPaths,
      cacheBytes: settings.answerCacheBytes,
    });
    this.cookies = new CookieSync(cookieDirFor(repo.gitDir), settings.cookieTimeoutMs, () =>
      this.watcher?.rewatchCookieDir(),
    );
  }

  /** Listens first (so clients queue instead of spawning more daemons), then watches. */
  async start(): Promise<void> {
    const fsInfo = await filesystemOf(this.repo.worktree);
    if (fsInfo.remote && !this.settings.allowRemote) {
      throw new RepoError(
        `remote repository '${this.repo.worktree}' (${fsInfo.name}) is incompatible with fsmonitor; set fsmonitor.allowRemote=true to override`,
        'remote',
      );
    }
    fs.mkdirSync(cookieDirFor(this.repo.gitDir), { recursive: true, mode: 0o700 });
    fs.chmodSync(stateDirFor(this.repo.gitDir), 0o700);
    this.server = await startServer({
      socketPath: this.socketPath,
      handler: (req) => this.handle(req),
      onStolen: () => void this.shutdown('socket was removed or taken over by another server', 0),
      log: this.log,
    });
    this.log('info', `listening on '${this.socketPath}' for '${this.repo.worktree}'`);
    this.watcher = createWatcher({
      backend: this.settings.backend,
      root: toBytes(this.repo.worktree),
      gitDir: toBytes(this.repo.gitDir),
      cookieDir: toBytes(cookieDirFor(this.repo.gitDir)),
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
    this.stopHealth = startHealthChecks({
      worktree: this.repo.worktree,
      gitDir: this.repo.gitDir,
      intervalMs: this.settings.healthIntervalMs,
      onGone: (reason) => void this.shutdown(reason, 0),
    });
    this.watcher.start().catch((err: Error) => {
      void this.shutdown(`watching failed: ${err.message}`, 1);
    });
  }

  /** Stops once; only ever removes our own socket (the IPC layer checks it is still ours). */
  shutdown(reason: string, code: number): Promise<void> {
    if (this.exiting) return this.exiting;
    this.log(code === 0 ? 'info' : 'error', `shutting down: ${reason}`);
    this.exiting = (async () => {
      this.stopHealth();
      this.cookies.abortAll();
      await this.server?.close().catch(() => {});
      await this.watcher?.close().catch(() => {});
      this.resolveExit(code);
    })();
    return this.exiting;
  }

  private readonly log = (level: 'debug' | 'info' | 'warn' | 'error', msg: string) =>
    this.logger.log(level, msg);

  private async handle(req: Buffer): Promise<Reply> {
    const request = req.toString('latin1');
    if (request === 'quit') {
      return { payload: [], afterSend: () => void this.shutdown('quit requested', 0) };
    }
    if (request === STATUS_REQUEST)
      return { payload: [Buffer.from(JSON.stringify(this.status()))] };
    if (request === 'flush') {
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
    if (!(await this.waitReady())) {
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
        resolve(this.journal.ready);
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
      token: j.epoch === null ? null : `builtin:${j.epoch}:${j.headSeq}`,
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
