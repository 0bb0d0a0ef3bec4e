import fs from 'node:fs';
import path from 'node:path';
import { discoverRepo, readConfig, stateDirFor } from '../git/index.js';
import { SocketInUseError } from '../ipc/index.js';
import { Daemon } from './daemon.js';
import { Logger } from './logger.js';
import { settingsFrom } from './settings.js';

export { STATUS_REQUEST } from './daemon.js';
export type { Settings } from './settings.js';
export { settingsFrom } from './settings.js';

export const DAEMON_LOG = 'daemon.log';

export interface RunOptions {
  /** Any directory inside the worktree. */
  dir: string;
  /** `run` in a terminal logs to stderr too; a detached daemon logs only to its file. */
  logToStderr: boolean;
}

/** Exit code when another live daemon already serves this worktree. */
export const EXIT_ALREADY_RUNNING = 3;

/**
 * Runs one daemon in this process until it stops; resolves with the exit code. The caller exits
 * the process with it, because a blocked inotify read keeps the event loop alive.
 */
export async function runDaemon(opts: RunOptions): Promise<number> {
  const repo = await discoverRepo(opts.dir);
  const settings = settingsFrom(await readConfig(repo.worktree));
  const stateDir = stateDirFor(repo.gitDir);
  fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const logger = new Logger({
    file: path.join(stateDir, DAEMON_LOG),
    level: settings.logLevel,
    maxBytes: settings.logMaxBytes,
    toStderr: opts.logToStderr,
  });
  const daemon = new Daemon(repo, settings, logger);
  try {
    await daemon.start();
  } catch (err) {
    if (err instanceof SocketInUseError) {
      logger.log('info', `not starting: ${err.message}`);
      return EXIT_ALREADY_RUNNING;
    }
    logger.log('error', `failed to start: ${(err as Error).message}`);
    await daemon.shutdown('start failed', 1);
    throw err;
  }
  // Keep no directory of the worktree busy, so it can be unmounted or removed ($HOME may be a
  // worktree itself, so not there either).
  process.chdir('/');
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    process.on(sig, () => void daemon.shutdown(`received ${sig}`, 0));
  }
  process.on('SIGPIPE', () => {});
  process.on('uncaughtException', (err) => {
    logger.log('error', `uncaught: ${err.stack ?? err.message}`);
    void daemon.shutdown('internal error', 1);
  });
  return daemon.exited;
}
