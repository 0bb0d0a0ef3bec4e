/**
 * The hook shims' time limits. The daemon's own waits (first registration, cookie) must end
 * inside ANSWER_MS, so that a slow daemon answers `/` before a shim gives up on it.
 */
export const HOOK_LIMITS = {
  /** A started daemon must accept a connection within this. */
  spawnWaitMs: 2000,
  /** The whole answer, from sending the token to the flush packet. */
  answerMs: 8000,
  /** Replaces both in tests. */
  timeoutEnv: 'GIT_FSMOND_HOOK_TIMEOUT_MS',
  /** Program the shims start as `<launcher> daemon <root>`. */
  launcherEnv: 'GIT_FSMOND_LAUNCHER',
} as const;
