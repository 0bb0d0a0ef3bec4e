/**
 * The contract between a watcher backend and the daemon.
 *
 * Paths are "byte strings": every char is one byte of the on-disk name (latin1), so names that
 * are not valid UTF-8 survive the trip to git unchanged. Convert with `Buffer.from(p, 'latin1')`.
 * Paths are relative to the worktree root, '/'-separated, never empty, never inside `.git/`.
 */
export interface WatchBatch {
  /** Changed paths, in event order; duplicates allowed. */
  paths: string[];
  /** Basenames of cookie files seen in the cookie directory during this batch. */
  cookies: string[];
}

export interface WatchListener {
  /**
   * One call per read from the kernel, in order. Every path here changed before the call;
   * cookies are reported in the same call as the paths that preceded them (or earlier).
   */
  onBatch(batch: WatchBatch): void;
  /**
   * Completeness is lost (queue overflow, watch table full, a failed scan). The daemon must
   * answer `/` for every token issued before this call. The backend recovers by itself and
   * calls onReady when watching is complete again.
   */
  onSyncLost(reason: string): void;
  /** Watching is complete: every directory of the worktree is watched. */
  onReady(): void;
  /** The worktree or its git dir is gone (deleted, renamed, unmounted): the daemon must exit. */
  onFatal(reason: string): void;
}

export interface WatcherOptions {
  /** Absolute worktree root, as a byte string (latin1). */
  root: string;
  /** Absolute git dir of this worktree, as a byte string (latin1). */
  gitDir: string;
  /** Absolute cookie directory (two levels below gitDir), as a byte string (latin1). */
  cookieDir: string;
  listener: WatchListener;
  log?: (level: 'debug' | 'info' | 'warn' | 'error', msg: string) => void;
}

/** How many unwatchable directories stats() names by path. */
export const UNWATCHABLE_SAMPLE = 5;

/**
 * inotify's per-user tables. The limits count every process of the user, so the user totals
 * are what is compared with them: read from /proc while blocked, null otherwise (or when /proc
 * cannot be read).
 */
export interface InotifyLimits {
  /** Watches this watcher holds now (directories, git dir, cookie dir). */
  watches: number;
  userWatches: number | null;
  /** fs.inotify.max_user_watches, or a user namespace's lower user.max_inotify_watches. */
  maxWatches: number | null;
  /** inotify instances this watcher holds now: 1, or 0 between generations. */
  instances: number;
  userInstances: number | null;
  /** fs.inotify.max_user_instances, or a user namespace's lower user.max_inotify_instances. */
  maxInstances: number | null;
}

export interface WatcherStats {
  backend: string;
  watchedDirs: number;
  events: number;
  rescans: number;
  lastError: string | null;
  /** blockedReason() now. */
  blocked: string | null;
  /** unwatchable().length, and its first UNWATCHABLE_SAMPLE paths (byte strings). */
  unwatchableDirs: number;
  unwatchableSample: string[];
  /** null where the backend has no such tables (parcel). */
  limits: InotifyLimits | null;
}

export interface Watcher {
  /** Register every watch and scan; resolves once onReady has been called the first time. */
  start(): Promise<void>;
  /** Re-establish the cookie directory watch (after the directory was re-created). */
  rewatchCookieDir(): void;
  stats(): WatcherStats;
  /**
   * Directories that exist but cannot be watched (no read permission), as paths like those of
   * a batch. git cannot list them either; the daemon reports each in every answer, so git
   * re-examines what is below them itself. Nothing beneath one is ever listed here. A
   * directory leaves the set when it is gone, moved out, or readable again; becoming readable
   * reports it and everything beneath it in a batch. Only meaningful while ready.
   */
  unwatchable(): readonly string[];
  /**
   * Why watching cannot complete for now for a reason a retry a moment later would only repeat
   * (watch table full, no inotify instance left), while the backend retries in the background;
   * null otherwise. Queries answer `/` at once meanwhile instead of waiting to be ready.
   */
  blockedReason(): string | null;
  /** Drop every watch and release the kernel resources. Idempotent. */
  close(): Promise<void>;
}
