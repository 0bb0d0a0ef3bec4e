import fs from 'node:fs';
import path from 'node:path';
import { type DaemonStatus, packageVersion, stateDirFor, stateFile } from '../contract/index.js';
import type { RepoInfo, SocketLocation } from '../git/index.js';
import { type IpcServer, startServer, unlinkIfSame } from '../ipc/index.js';
import { Journal } from '../journal/index.js';
import { retireSocketUnit } from '../service/index.js';
import { type FileIdentity, identityOf } from '../sys/identity.js';
import {
  type CreateWatcherOptions,
  createWatcher,
  type Watcher,
  type WatcherOptions,
} from '../watch/index.js';
import type { Activation } from './activation.js';
import { CookieSync } from './cookies.js';
import { type Health, startHealthChecks } from './health.js';
import type { Logger } from './logger.js';
import { Requests } from './requests.js';
import type { Settings } from './settings.js';
import type { StateDir } from './state-dir.js';
import { FsmonitorTrace, type TraceRequest } from './trace.js';

/** Since the last query: until then the daemon counts as in use. */
const ACTIVE_MS = 60_000;
const IDLE_POLL_MS = 30_000;

/** However shutdown goes, the process exits by then (a wedged close must not keep it alive). */
const SHUTDOWN_GUARD_MS = 5_000;

const toBytes = (p: string) => Buffer.from(p, 'utf8').toString('latin1');

export interface DaemonOptions {
  /** Makes the watcher (default: the configured backend); tests pass a fake one. */
  createWatcher?: (opts: WatcherOptions & Pick<CreateWatcherOptions, 'backend'>) => Watcher;
  /** GIT_TRACE_FSMONITOR as the environment had it (fsmond.trace applies without it). */
  trace?: TraceRequest;
  /** The socket a service manager passed us, instead of binding one. */
  activation?: Activation | null;
}

export class Daemon {
  readonly socketPath: string;
  private readonly journal: Journal;
  private readonly cookies: CookieSync;
  private readonly requests: Requests;
  private watcher: Watcher | null = null;
  private server: IpcServer | null = null;
  private health: Health | null = null;
  private trace: FsmonitorTrace | null = null;
  private idleTimer: NodeJS.Timeout | null = null;
  /** Our socket and pointer files: only these are ever removed, and only if still ours. */
  private socketId: FileIdentity | null = null;
  private pointerId: FileIdentity | null = null;
  private starting: Promise<void> | null = null;
  private lastSyncError: string | null = null;
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
    private readonly options: DaemonOptions = {},
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
    this.requests = new Requests({
      repo,
      stateDir,
      socketPath: this.socketPath,
      socketActivated: Boolean(options.activation),
      journal: this.journal,
      cookies: this.cookies,
      readyTimeoutMs: settings.readyTimeoutMs,
      watcher: () => this.watcher,
      stopping: () => this.exiting !== null,
      shutdown: (reason) => void this.shutdown(reason, 0),
      lastError: () => this.lastSyncError,
      trace: (line) => this.trace?.line(line),
      log: this.log,
    });
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
      handler: (req, peer) => this.requests.handle(req, peer),
      maxRequestBytes: this.settings.maxRequestBytes,
      requestTimeoutMs: this.settings.requestTimeoutMs,
      // Checked by the health poll, on one timer (see pollIntervalMs).
      stolenCheckMs: 0,
      inheritedFd: this.options.activation?.fd,
      onStolen: () =>
        void this.shutdown(
          this.health?.check() ?? `socket '${this.socketPath}' was removed or taken over`,
          0,
        ),
      log: this.log,
    });
    this.socketId = identityOf(this.socketPath, { follow: false });
    if (this.exiting) return; // a signal while claiming the socket: shutdown closes it
    try {
      if (this.location.relocated) this.writePointer();
      this.log(
        'info',
        `git-fsmond ${packageVersion()} listening on '${this.socketPath}' for '${this.repo.worktree}'`,
      );
      this.trace = this.openTrace();
      this.health = startHealthChecks({
        worktree: this.repo.worktree,
        gitDir: this.repo.gitDir,
        intervalMs: () => this.pollIntervalMs(),
        alsoCheck: () => void this.server?.verifySocket(),
        onGone: (reason) => void this.shutdown(reason, 0),
      });
      this.watcher = this.createWatcher();
    } catch (err) {
      void this.shutdown(`start failed: ${(err as Error).message}`, 1);
      throw err;
    }
    this.exitWhenIdle();
    this.watcher.start().catch((err: Error) => {
      void this.shutdown(`watching failed: ${err.message}`, 1);
    });
  }

  private createWatcher(): Watcher {
    return (this.options.createWatcher ?? createWatcher)({
      backend: this.settings.backend,
      scanHelperAfterMs: this.settings.scanHelperAfterMs,
      root: toBytes(this.repo.worktree),
      gitDir: toBytes(this.repo.gitDir),
      cookieDir: toBytes(stateFile(this.repo.gitDir, 'cookieDir')),
      log: this.log,
      listener: {
        onBatch: (b) => {
          this.trace?.events(b.paths);
          this.journal.add(b.paths);
          if (b.cookies.length) this.cookies.seen(b.cookies);
        },
        onSyncLost: (reason) => {
          this.lastSyncError = reason;
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
          this.trace?.watching(this.repo.worktree);
          this.requests.wake();
        },
        onFatal: (reason) => void this.shutdown(reason, 0),
      },
    });
  }

  private openTrace(): FsmonitorTrace | null {
    const req = this.options.trace ?? { env: undefined, bare: false };
    return FsmonitorTrace.open(req, this.settings.trace, this.logger.trace, (msg) =>
      this.log('warn', msg),
    );
  }

  /** Stops once, logging why; removes only files that still are the ones we created. */
  shutdown(reason: string, code: number): Promise<void> {
    if (this.exiting) return this.exiting;
    this.exiting = (async () => {
      const guard = setTimeout(() => this.resolveExit(code), SHUTDOWN_GUARD_MS);
      this.health?.stop();
      if (this.idleTimer) clearTimeout(this.idleTimer);
      const movedGitDir = this.followGitDir();
      this.log(code === 0 ? 'info' : 'error', `shutting down: ${reason}`);
      this.cookies.abortAll();
      this.requests.wake();
      await this.starting?.catch(() => {});
      this.health?.stop();
      await this.server?.close().catch(() => {});
      await this.watcher?.close().catch(() => {});
      this.trace?.close();
      const pointer = this.pointerId && this.stateFileOrNull('socketPointer');
      if (pointer) await unlinkIfSame(pointer, this.pointerId!);
      if (movedGitDir && this.socketId && !this.location.relocated && !this.options.activation) {
        // Our socket moved with the git dir; the next daemon would reclaim it, but it is ours.
        await unlinkIfSame(path.join(movedGitDir, path.basename(this.socketPath)), this.socketId);
      }
      await this.retireUnitIfVanished();
      clearTimeout(guard);
      this.resolveExit(code);
    })();
    return this.exiting;
  }

  /**
   * A socket unit of ours for a worktree or git dir that is gone (deleted, renamed) would go on
   * starting daemons that exit at once: disable it. While both exist, the socket keeps
   * listening for the next git command, whatever the reason we stop.
   */
  private async retireUnitIfVanished(): Promise<void> {
    const unit = this.options.activation?.unit;
    if (!unit || (fs.existsSync(this.repo.worktree) && fs.existsSync(this.repo.gitDir))) return;
    const failed = await retireSocketUnit(unit);
    if (failed) {
      const line = `${failed}; it keeps listening where no git command reaches`;
      this.log('error', line);
      // The log went with the git dir: systemd keeps our stderr in its journal.
      process.stderr.write(`git-fsmond daemon: ${line}\n`);
    } else this.log('info', `disabled ${unit}: the worktree is gone`);
  }

  /** If the git dir was renamed, point the log at its new place and return that place. */
  private followGitDir(): string | null {
    if (fs.existsSync(stateDirFor(this.repo.gitDir))) return null;
    const moved = this.health?.findGitDir();
    if (!moved || moved === this.repo.gitDir) return null;
    this.logger.moveTo(moved);
    return moved;
  }

  /**
   * What only polling can tell (our socket taken, a linked git dir removed, a lazy unmount) is
   * checked twice a second while git is using us, and every IDLE_POLL_MS once no query came for
   * a minute: each wake-up costs about a millisecond of CPU, which an idle daemon should not
   * spend all day. Deletions and renames of the root, the git dir and `.git` arrive as events.
   */
  private pollIntervalMs(): number {
    return this.requests.idleMs() < ACTIVE_MS ? this.settings.healthIntervalMs : IDLE_POLL_MS;
  }

  /**
   * fsmond.idleTimeout: exit once no git command has asked for that long (status requests do
   * not count). One timer, re-armed for the time still left, so queries cost nothing here.
   */
  private exitWhenIdle(): void {
    const limitMs = this.settings.idleTimeout * 1000;
    if (limitMs <= 0) return;
    const check = () => {
      const idleMs = this.requests.idleMs();
      if (idleMs >= limitMs) {
        void this.shutdown(`no query for ${this.settings.idleTimeout} s (fsmond.idleTimeout)`, 0);
        return;
      }
      this.idleTimer = setTimeout(check, limitMs - idleMs);
      this.idleTimer.unref();
    };
    this.idleTimer = setTimeout(check, limitMs);
    this.idleTimer.unref();
  }

  /** A state file's path, or null once the state dir can no longer be reached safely. */
  private stateFileOrNull(name: 'socketPointer'): string | null {
    try {
      return this.stateDir.file(name);
    } catch {
      return null;
    }
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
    this.pointerId = identityOf(file, { follow: false });
  }

  private readonly log = (level: 'debug' | 'info' | 'warn' | 'error', msg: string) =>
    this.logger.log(level, msg);

  status(): DaemonStatus {
    return this.requests.status();
  }
}
