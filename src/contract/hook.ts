/**
 * The hook shims' time limits. The daemon's own waits (first registration, cookie) must end
 * inside firstByteMs: a daemon that says nothing for longer is taken for a mute one, answered
 * `/` for and marked `unresponsive` until it answers again (doctor warns about settings that
 * do not fit).
 */
export const HOOK_LIMITS = {
  /** A started daemon must accept a connection within this. */
  spawnWaitMs: 2000,
  /** The whole answer, from sending the token to the flush packet. */
  answerMs: 8000,
  /**
   * The first byte of the answer, from sending the token: all that a daemon which accepts and
   * never answers (stopped, wedged, not ours) may cost a git command.
   */
  firstByteMs: 900,
  /**
   * While LAYOUT.unresponsive exists: the wait for the first byte, and for room in a full
   * listen backlog.
   */
  mutedWaitMs: 20,
  /** Replaces every wait above in tests. */
  timeoutEnv: 'GIT_FSMOND_HOOK_TIMEOUT_MS',
  /** Program the shims start as `<launcher> daemon <root>`. */
  launcherEnv: 'GIT_FSMOND_LAUNCHER',
} as const;

/**
 * Added to NODE_OPTIONS for the daemon by whatever starts it (both shims, `start`, the
 * service unit): V8 without its JIT saves ~1 MB RSS for the daemon's life (the code range and
 * the copy of the builtins a JIT needs; bench/README.md "Daemon memory"), and only NODE_OPTIONS
 * or node's command line can say so, before V8 starts. The daemon's JavaScript runs in the
 * interpreter anyway (src/cli/daemon-main.ts). Its price: node 20 prints one line, "Warning:
 * disabling flag --expose_wasm due to conflicting flags", on stderr as it starts (into the
 * daemon's log), which is also why the CLI does not take it.
 */
export const DAEMON_NODE_OPTION = '--jitless';

/** NODE_OPTIONS for a daemon started from an environment with `inherited` (the user's kept). */
export function daemonNodeOptions(inherited: string | undefined): string {
  return inherited ? `${inherited} ${DAEMON_NODE_OPTION}` : DAEMON_NODE_OPTION;
}

/**
 * How a daemon started by a shim tells that shim how its start went, so that a refusal or a
 * crash ends the shim's wait at once. The shim passes the write end of a pipe as the fd number
 * in `fdEnv` (no other fd beyond stdio). The daemon writes one line, `ready` once it listens
 * or else the reason it refuses, and closes it; a daemon that dies closes it by exiting. A
 * shim that reads anything but `ready`, or EOF, before the socket accepts records the line
 * (or that the daemon died) in LAYOUT.refused.
 */
export const START_STATUS = {
  fdEnv: 'GIT_FSMOND_START_FD',
  ready: 'ok',
} as const;
