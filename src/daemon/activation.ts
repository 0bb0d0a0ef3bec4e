/**
 * Socket activation (sd_listen_fds(3)): a service manager (systemd --user, launchd through a
 * wrapper, systemd-socket-activate in tests) holds the listening socket at the path git looks
 * for and starts us on the first connection, so git never finds the path free and never starts
 * its builtin daemon there (docs/ipc-mode.md).
 */
import fs from 'node:fs';
import { SOCKET_UNIT_ENV } from '../service/index.js';
import { closeOnExec } from '../sys/cloexec.js';

/** SD_LISTEN_FDS_START: the first passed fd. */
const FIRST_FD = 3;
const VARIABLES = ['LISTEN_PID', 'LISTEN_FDS', 'LISTEN_FDNAMES', SOCKET_UNIT_ENV] as const;

export interface Activation {
  /** The inherited listening socket. */
  fd: number;
  /** The systemd socket unit that passed it, when a unit of ours did. */
  unit: string | null;
}

export class ActivationError extends Error {}

/**
 * Takes the passed socket, if one was passed to this very process, and removes the variables
 * either way: no git process we start may think it was passed sockets, nor hold ours open.
 */
export function takeActivation(env: NodeJS.ProcessEnv, pid = process.pid): Activation | null {
  const [listenPid, listenFds, , unit] = VARIABLES.map((name) => env[name]);
  for (const name of VARIABLES) delete env[name];
  if (listenFds === undefined || listenPid !== String(pid)) return null;
  if (listenFds !== '1') {
    throw new ActivationError(
      `socket activation passed ${listenFds} sockets (LISTEN_FDS); git-fsmond serves exactly one`,
    );
  }
  let st: fs.Stats;
  try {
    st = fs.fstatSync(FIRST_FD);
  } catch (err) {
    throw new ActivationError(`socket activation: fd ${FIRST_FD} is not open (${String(err)})`);
  }
  if (!st.isSocket()) {
    throw new ActivationError(`socket activation: fd ${FIRST_FD} is not a socket`);
  }
  closeOnExec(FIRST_FD);
  return { fd: FIRST_FD, unit: unit || null };
}
