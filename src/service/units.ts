/**
 * The systemd user units that keep a worktree's socket listening while no daemon runs, as pure
 * text: what to write is decided here, writing it and talking to systemctl is in systemctl.ts.
 */
import { DAEMON_NODE_OPTION } from '../contract/index.js';
import { sha1Hex } from '../sys/sha1.js';

/**
 * Set in the service unit: the socket unit that started the daemon, which it disables when its
 * worktree vanishes (otherwise systemd would keep the socket and restart it on every
 * connection). Absent when something else (systemd-socket-activate, a test) passes the socket.
 */
export const SOCKET_UNIT_ENV = 'GIT_FSMOND_SOCKET_UNIT';

const PREFIX = 'git-fsmond-';
/** systemd's limit for a unit name, the suffix included. */
const UNIT_NAME_MAX = 255;

/**
 * `systemd-escape --path` of the git dir: `/` becomes `-`, every byte outside `[A-Za-z0-9:_.]`
 * (and a leading `.`) becomes `\xNN`. Readable in `systemctl --user list-sockets`.
 */
export function escapePath(p: string): string {
  const trimmed = p.replace(/^\/+|\/+$/g, '').replace(/\/+/g, '/');
  if (trimmed === '') return '-';
  let out = '';
  for (const [i, byte] of [...Buffer.from(trimmed, 'utf8')].entries()) {
    const ch = String.fromCharCode(byte);
    if (ch === '/') out += '-';
    else if (/[A-Za-z0-9:_]/.test(ch) || (ch === '.' && i > 0)) out += ch;
    else out += `\\x${byte.toString(16).padStart(2, '0')}`;
  }
  return out;
}

/**
 * The units' common name (without `.socket` / `.service`), one per git dir. A path too long for
 * a unit name gets its sha1 instead: unique, just not readable.
 */
export function unitBaseName(gitDir: string): string {
  const readable = `${PREFIX}${escapePath(gitDir)}`;
  if (readable.length + '.service'.length <= UNIT_NAME_MAX) return readable;
  return `${PREFIX}${sha1Hex(gitDir)}`;
}

export interface UnitSpec {
  /** From unitBaseName. */
  name: string;
  worktree: string;
  gitDir: string;
  /** Where git looks: `<git dir>/fsmonitor--daemon.ipc`. */
  socketPath: string;
  /** The daemon's command line: node, the launcher, `daemon`, the worktree. */
  command: string[];
}

export interface UnitFiles {
  socket: string;
  service: string;
}

/**
 * `%` starts a specifier in any unit setting; `$` expands a variable in ExecStart. Newlines
 * would start a new setting: such a path cannot go into a unit file at all (the caller checks
 * with unitSafe first).
 */
const specifierSafe = (s: string) => s.replace(/%/g, '%%');

/** One quoted word of a setting: double quotes with C escapes, `%` doubled. */
const quoted = (s: string) => `"${specifierSafe(s.replace(/[\\"]/g, (c) => `\\${c}`))}"`;

/** One ExecStart word: quoted, and `$` doubled (ExecStart expands variables). */
export const execWord = (s: string) => quoted(s).replace(/\$/g, '$$$$');

/** Whether these paths can be written into unit files (no control characters). */
export function unitSafe(spec: Omit<UnitSpec, 'name'>): boolean {
  const all = [spec.worktree, spec.gitDir, spec.socketPath, ...spec.command];
  return all.every((s) => !/[\x00-\x1f\x7f]/.test(s));
}

export function unitFiles(spec: UnitSpec): UnitFiles {
  const where = specifierSafe(spec.worktree);
  const socket = [
    '# Written by git-fsmond enable; removed by git-fsmond disable.',
    '[Unit]',
    `Description=git-fsmond socket for ${where}`,
    // After a reboot with the worktree gone: no socket, and systemd creates no directories there.
    `ConditionPathIsDirectory=${specifierSafe(spec.gitDir)}`,
    '',
    '[Socket]',
    // A path, not a word list: systemd takes the rest of the line, spaces included.
    `ListenStream=${specifierSafe(spec.socketPath)}`,
    'SocketMode=0600',
    'DirectoryMode=0700',
    // git listens with 50; a burst of git commands must not see EAGAIN.
    'Backlog=128',
    'RemoveOnStop=yes',
    '',
    '[Install]',
    'WantedBy=sockets.target',
    '',
  ].join('\n');
  const service = [
    '# Written by git-fsmond enable; removed by git-fsmond disable.',
    '[Unit]',
    `Description=git-fsmond daemon for ${where}`,
    `Requires=${spec.name}.socket`,
    `After=${spec.name}.socket`,
    '',
    '[Service]',
    // No Restart=: the socket starts the daemon again on the next connection.
    `ExecStart=${spec.command.map(execWord).join(' ')}`,
    `Environment=${quoted(`${SOCKET_UNIT_ENV}=${spec.name}.socket`)}`,
    `Environment=${quoted(`NODE_OPTIONS=${DAEMON_NODE_OPTION}`)}`,
    // Exits within 5 s of SIGTERM by itself (its shutdown guard).
    'TimeoutStopSec=10',
    '',
  ].join('\n');
  return { socket, service };
}
