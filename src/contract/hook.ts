/**
 * The hook shims' time limits. The daemon's own waits (first registration, cookie) must end
 * inside firstByteMs, so that a slow daemon answers `/` before a shim gives up on it.
 */
export const HOOK_LIMITS = {
  /**
   * How long the shims are to wait for the first byte of an answer (not enforced by them yet);
   * `doctor` warns when fsmond.readyTimeoutMs + fsmond.cookieTimeoutMs reaches it.
   */
  firstByteMs: 1000,
  /** A started daemon must accept a connection within this. */
  spawnWaitMs: 2000,
  /** The whole answer, from sending the token to the flush packet. */
  answerMs: 8000,
  /** Replaces both in tests. */
  timeoutEnv: 'GIT_FSMOND_HOOK_TIMEOUT_MS',
  /** Program the shims start as `<launcher> daemon <root>`. */
  launcherEnv: 'GIT_FSMOND_LAUNCHER',
} as const;
