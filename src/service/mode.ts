/**
 * Which way `enable` makes git reach the daemon. IPC (core.fsmonitor=true) saves git its fork
 * per command, but git >= 2.55 starts its own builtin daemon whenever nothing listens at the
 * socket path; only a service manager that always holds that socket rules that out
 * (docs/ipc-mode.md). Everywhere else the hook shim it is.
 */

export type MonitorMode = 'ipc' | 'hook';

export interface ModeInputs {
  /** `enable --hook`. */
  forceHook: boolean;
  /** `enable --global`: socket units are per worktree, a global setting is not. */
  global: boolean;
  platform: NodeJS.Platform;
  gitVersion: string;
  /** git talks to a daemon itself on this platform (>= 2.55 on Linux, with the feature built). */
  gitIpc: boolean;
  /** Whether a systemd user manager answers, and what it said. */
  manager: { reachable: boolean; why: string };
  /** The paths cannot go into a unit file (control characters). */
  unitUnsafe: boolean;
  /** Who else listens on the socket (git's builtin daemon, say), or null. */
  foreign: string | null;
}

export interface ModeChoice {
  mode: MonitorMode;
  /** One line: why this mode, for enable, doctor and status. */
  reason: string;
}

const hook = (reason: string): ModeChoice => ({ mode: 'hook', reason });

export function decideMode(i: ModeInputs): ModeChoice {
  if (i.forceHook) return hook('enable --hook asked for it');
  if (i.global) return hook('--global: the socket units that IPC mode needs are per worktree');
  if (!i.gitIpc) {
    return hook(`git ${i.gitVersion} cannot talk to a daemon itself here (needs git >= 2.55)`);
  }
  if (i.platform === 'darwin') {
    return hook('launchd socket activation is designed (docs/ipc-mode.md) but not built yet');
  }
  if (i.platform !== 'linux') return hook(`no socket activation on ${i.platform}`);
  if (!i.manager.reachable) {
    return hook(`${i.manager.why}: without one, git would start its builtin daemon`);
  }
  if (i.unitUnsafe) return hook('the worktree path has control characters a unit file cannot hold');
  if (i.foreign) return hook(`${i.foreign} listens on the socket; not taking it over`);
  return {
    mode: 'ipc',
    reason: `systemd --user holds the socket and starts the daemon; git ${i.gitVersion} asks it without a hook`,
  };
}
