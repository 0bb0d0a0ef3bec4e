import type { InotifyLimits } from '../watch/index.js';

/**
 * Why an answer is `/`: the one list, shared by the journal (token checks) and the request
 * handling (everything else), and shown as `lastTrivialReason` in the status snapshot.
 */
export const TRIVIAL_REASON = {
  shuttingDown: 'shutting down',
  otherWorktree: 'asked from a directory that is not the worktree root',
  unknownAsker: 'cannot tell which directory the client runs in',
  blocked: 'cannot watch every directory',
  notWatching: 'not watching yet',
  cookieTimeout: 'cookie not seen in time',
  flush: 'flush requested',
  notOurToken: 'not one of our tokens',
  otherEpoch: 'token from another epoch',
  tooOld: 'token older than kept history',
  future: 'token from the future',
  overflow: 'too many changes to keep',
} as const;

export type TrivialReason = (typeof TRIVIAL_REASON)[keyof typeof TRIVIAL_REASON];

/**
 * The daemon's answer to the status request, as JSON. A type, not an interface, so that it
 * stays assignable to a plain record (the CLI prints every key).
 */
export type DaemonStatus = {
  pid: number;
  worktree: string;
  gitDir: string;
  socket: string;
  /** A service manager holds the socket and passed it to us (docs/ipc-mode.md). */
  socketActivated: boolean;
  /** Every directory is watched and tokens are being issued. */
  watching: boolean;
  /** The current token (null while not watching). */
  token: string | null;
  uptimeMs: number;
  /** The package version this daemon runs (it keeps it until it restarts). */
  version: string;
  /** Since the last query (or the start, before any). */
  idleMs: number;
  backend: string | null;
  watchedDirectories: number;
  events: number;
  rescans: number;
  queries: number;
  answers: number;
  trivialAnswers: number;
  cacheHits: number;
  retainedPaths: number;
  lastAnswerMs: number;
  lastTrivialReason: TrivialReason | null;
  /** Why watching cannot complete for now (every query gets `/` meanwhile), or null. */
  blockedReason: string | null;
  /** Directories that cannot be watched and are reported in every answer (the first 100). */
  unwatchable: string[];
  unwatchableCount: number;
  /** inotify watches and instances held, against their limits (null for other backends). */
  inotifyLimits: InotifyLimits | null;
  rssBytes: number;
  lastError: string | null;
};
