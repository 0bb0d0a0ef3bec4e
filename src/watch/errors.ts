/**
 * Control flow out of deep inside event processing or a scan. Thrown, caught at the batch
 * or scan boundary, and turned into exactly one listener call.
 */

/**
 * Completeness is lost; the watcher rescans. `limit` (watch/instance table full, a directory we
 * may not read) and `error` retry with backoff; `overflow` retries at once the first time.
 */
export class SyncLostError extends Error {
  constructor(
    readonly reason: string,
    readonly kind: 'overflow' | 'limit' | 'error',
  ) {
    super(reason);
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
