import { type DaemonStatus, packageVersion, REQUEST, TRIVIAL_REASON } from '../contract/index.js';
import type { RepoInfo } from '../git/index.js';
import type { PeerCredentials, Reply } from '../ipc/index.js';
import type { Answer, Journal } from '../journal/index.js';
import { monotonicMs } from '../sys/clock.js';
import { type FileIdentity, identityOf, sameFile } from '../sys/identity.js';
import type { Watcher } from '../watch/index.js';
import type { CookieSync } from './cookies.js';
import type { Level } from './logger.js';
import type { StateDir } from './state-dir.js';
import { clearUnresponsive } from './unresponsive.js';

export interface RequestsOptions {
  repo: RepoInfo;
  stateDir: StateDir;
  socketPath: string;
  socketActivated: boolean;
  journal: Journal;
  cookies: CookieSync;
  /** How long a query waits for the first watch registration before answering `/`. */
  readyTimeoutMs: number;
  watcher: () => Watcher | null;
  /** The daemon has begun to stop. */
  stopping: () => boolean;
  shutdown: (reason: string) => void;
  /** The last loss of sync, when the watcher has no error of its own to show. */
  lastError: () => string | null;
  log: (level: Level, msg: string) => void;
  /** A GIT_TRACE_FSMONITOR line (a byte string), when tracing. */
  trace: (line: string) => void;
}

/** Shown in status at most; the count says how many there are in all. */
const UNWATCHABLE_SHOWN = 100;

/**
 * What the daemon answers to each request: tokens (the completeness checks, in order, each
 * with its reason from TRIVIAL_REASON), `quit`, `flush` and the status snapshot.
 */
export class Requests {
  private readonly root: FileIdentity | null;
  private readyWaiters: Array<() => void> = [];
  private readonly startedAt = Date.now();
  private lastQueryAt = this.startedAt;
  private stats = { queries: 0, lastAnswerMs: 0, lastTrivialReason: null as Answer['reason'] };

  constructor(private readonly opts: RequestsOptions) {
    // Taken once: a root replaced later is the health check's business, not a new identity.
    this.root = identityOf(opts.repo.worktree);
  }

  /** Since the last token query (or the start): status, quit and flush do not count. */
  idleMs(): number {
    return Date.now() - this.lastQueryAt;
  }

  /** Watching became complete, or the daemon is stopping: no query waits any longer. */
  wake(): void {
    for (const w of this.readyWaiters.splice(0)) w();
  }

  async handle(req: Buffer, peer: PeerCredentials | null): Promise<Reply> {
    // Every request, whatever it is, passes here: we are serving again, so the shims may wait
    // for us the full time (the requests a stopped daemon finds queued clear it too).
    clearUnresponsive(this.opts.stateDir);
    return this.dispatch(req.toString('latin1'), peer);
  }

  private async dispatch(request: string, peer: PeerCredentials | null): Promise<Reply> {
    const { journal, cookies } = this.opts;
    // Not our CLI's status polls: git's `status` sends nothing, and a start polls 10 times a second.
    if (request !== REQUEST.status) this.opts.trace(`requested token: ${request}`);
    if (request === REQUEST.quit) {
      return { payload: [], afterSend: () => this.opts.shutdown('quit requested') };
    }
    if (request === REQUEST.status) {
      return { payload: [Buffer.from(JSON.stringify(this.status()))] };
    }
    if (request === REQUEST.flush) {
      if (journal.ready) journal.startEpoch();
      cookies.abortAll();
      return { payload: [journal.trivialAnswer(TRIVIAL_REASON.flush).payload] };
    }
    const t0 = monotonicMs();
    this.stats.queries++;
    this.lastQueryAt = Date.now();
    const answer = await this.query(request, peer);
    this.opts.trace(`response token: ${answer.token}`);
    this.stats.lastAnswerMs = monotonicMs() - t0;
    if (answer.trivial) {
      this.stats.lastTrivialReason = answer.reason;
      this.opts.log('debug', `answered / to '${request.slice(0, 80)}': ${answer.reason}`);
    }
    return { payload: [answer.payload] };
  }

  private async query(request: string, peer: PeerCredentials | null): Promise<Answer> {
    const { journal, cookies } = this.opts;
    if (this.opts.stopping()) return journal.trivialAnswer(TRIVIAL_REASON.shuttingDown);
    // Read now that the whole request is here: a shim may connect from elsewhere and return
    // to git's directory before it writes. A token valid for us would let our next client
    // trust the stat data that this one writes into the index.
    const asker = askerPlace(peer, this.root);
    if (asker === 'elsewhere') return journal.unvouchedAnswer(TRIVIAL_REASON.otherWorktree);
    if (asker === 'unknown') return journal.unvouchedAnswer(TRIVIAL_REASON.unknownAsker);
    // Waiting would only repeat what the watcher already knows: it cannot complete.
    if (this.opts.watcher()?.blockedReason()) {
      return journal.unvouchedAnswer(TRIVIAL_REASON.blocked);
    }
    if (!(await this.waitReady())) return journal.trivialAnswer(TRIVIAL_REASON.notWatching);
    if (!(await cookies.sync())) return journal.trivialAnswer(TRIVIAL_REASON.cookieTimeout);
    return withUnwatchable(journal.answer(request), this.opts.watcher()?.unwatchable() ?? []);
  }

  private waitReady(): Promise<boolean> {
    const { journal } = this.opts;
    if (journal.ready) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        resolve(journal.ready && !this.opts.stopping());
      };
      const timer = setTimeout(() => {
        this.readyWaiters = this.readyWaiters.filter((w) => w !== done);
        resolve(false);
      }, this.opts.readyTimeoutMs);
      this.readyWaiters.push(done);
    });
  }

  status(): DaemonStatus {
    const watcher = this.opts.watcher();
    const w = watcher?.stats();
    const j = this.opts.journal.stats();
    const unwatchable = watcher?.unwatchable() ?? [];
    return {
      pid: process.pid,
      worktree: this.opts.repo.worktree,
      gitDir: this.opts.repo.gitDir,
      socket: this.opts.socketPath,
      socketActivated: this.opts.socketActivated,
      watching: this.opts.journal.ready,
      token: this.opts.journal.pinnedToken(),
      uptimeMs: Date.now() - this.startedAt,
      version: packageVersion(),
      idleMs: this.idleMs(),
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
      lastTrivialReason: this.stats.lastTrivialReason,
      blockedReason: watcher?.blockedReason() ?? null,
      // Byte strings (latin1) shown as the UTF-8 names they are.
      unwatchable: unwatchable
        .slice(0, UNWATCHABLE_SHOWN)
        .map((p) => Buffer.from(p, 'latin1').toString('utf8')),
      unwatchableCount: unwatchable.length,
      inotifyLimits: w?.limits ?? null,
      rssBytes: process.memoryUsage.rss(),
      lastError: w?.lastError ?? this.opts.lastError(),
    };
  }
}

/**
 * Where the client runs: git and both shims run in the root of git's worktree, so a client
 * elsewhere is git working on another worktree with our git dir (`--work-tree`, `GIT_DIR`).
 * Only Linux can tell ('unchecked' elsewhere). 'unknown': a pid from another pid namespace
 * (0) or a process whose cwd we may not read (say, root's git asking a user's daemon).
 */
function askerPlace(
  peer: PeerCredentials | null,
  root: FileIdentity | null,
): 'root' | 'elsewhere' | 'unknown' | 'unchecked' {
  if (process.platform !== 'linux') return 'unchecked';
  if (!peer || peer.pid === 0 || !root) return 'unknown';
  const cwd = identityOf(`/proc/${peer.pid}/cwd`);
  if (!cwd) return 'unknown';
  return sameFile(cwd, root) ? 'root' : 'elsewhere';
}

/**
 * Every unwatchable directory goes into every incremental answer: nothing beneath it is
 * watched, so only git re-examining it (its entries and its untracked cache) keeps the answer
 * complete. Appended to the journal's answer rather than recorded in it, so cached answers
 * stay reusable and the set is always the one of this moment (a directory that became
 * readable again was scanned, and everything beneath it is in the journal by then).
 */
function withUnwatchable(answer: Answer, dirs: readonly string[]): Answer {
  if (answer.trivial || dirs.length === 0) return answer;
  const extra = Buffer.from(`${dirs.join('\0')}\0`, 'latin1');
  return {
    ...answer,
    payload: Buffer.concat([answer.payload, extra]),
    pathCount: answer.pathCount + dirs.length,
  };
}
