/**
 * Control flow out of deep inside event processing or a scan. Thrown, caught at the batch
 * or scan boundary, and turned into exactly one listener call.
 */

/**
 * Completeness is lost; the watcher rescans. `limit` is a lasting condition (watch or instance
 * table full, the root or git dir unreadable): it blocks (blockedReason) and retries with
 * backoff; `error` retries with backoff; `overflow` retries at once the first time.
 */
export class SyncLostError extends Error {
  /** `reason` plus what varies from one attempt to the next (counts): for logs and doctor. */
  readonly detail: string;

  constructor(
    /** Stable across retries of the same cause: a change of reason is announced again. */
    readonly reason: string,
    readonly kind: 'overflow' | 'limit' | 'error',
    detail?: string,
  ) {
    super(reason);
    this.detail = detail ?? reason;
  }
}

/** The worktree or its git dir is gone: the daemon must exit. */
export class FatalError extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

export function errCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err
    ? String((err as { code: unknown }).code)
    : undefined;
}

/** Errors meaning "that directory is not there (any more)": the events will tell the rest. */
export function isGone(code: string | undefined): boolean {
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** We may not read it (mode, owner, ACL, LSM); git cannot either. */
export function isDenied(code: string | undefined): boolean {
  return code === 'EACCES' || code === 'EPERM';
}
