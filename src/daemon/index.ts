import fs from 'node:fs';
import { packageVersion, registerDaemon, unregisterDaemon } from '../contract/index.js';
import {
  discoverRepo,
  RepoError,
  type RepoInfo,
  readConfig,
  type SocketLocation,
  scrubGitEnv,
} from '../git/index.js';
import { SocketInUseError, SocketPathError } from '../ipc/index.js';
import { useTestEpochIds } from '../journal/index.js';
import { retireSocketUnit } from '../service/index.js';
import { type Activation, ActivationError, takeActivation } from './activation.js';
import { Daemon } from './daemon.js';
import { Logger } from './logger.js';
import { parseBool, type Settings, settingsFrom } from './settings.js';
import { publishSmallRepo } from './small-repo.js';
import { StartStatus } from './start-status.js';
import { clearRefusal, isLasting, preflight, prepareStateDir, recordRefusal } from './startup.js';
import { StateDir } from './state-dir.js';
import { type TraceRequest, takeTraceRequest } from './trace.js';
import { clearUnresponsive } from './unresponsive.js';

export type { Settings } from './settings.js';
export * from './settings.js';
export { entriesBelow } from './small-repo.js';
export { checkGitDirOwner, ownerName, StateDir } from './state-dir.js';

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
 * A refusal rejects with a RepoError whose message is the one line to show.
 */
export async function runDaemon(opts: RunOptions): Promise<number> {
  // Before the first git call: the command that started us must not steer our git calls.
  const startStatus = StartStatus.take(process.env);
  // Before scrubGitEnv clears them: GIT_TRACE_FSMONITOR is meant for us.
  const trace = takeTraceRequest(process.env);
  if (parseBool(process.env.GIT_TEST_FSMONITOR_TOKEN ?? '')) useTestEpochIds();
  let activation: Activation | null = null;
  let logger: Logger | null = null;
  let stateDir: StateDir | null = null;
  try {
    activation = takeActivation(process.env);
    scrubGitEnv(process.env);
    // The config read runs beside the discovery: from any directory of the worktree git reads
    // the same repository's config, and a refusal makes it moot.
    const config = readConfig(opts.dir);
    const repo = await discoverRepo(opts.dir);
    const settings = settingsFrom(await config);
    stateDir = prepareStateDir(repo.gitDir);
    logger = loggerFor(stateDir, settings, opts.logToStderr);
    const location = await preflight(repo, settings);
    return await serve(repo, settings, logger, location, stateDir, startStatus, {
      trace,
      activation,
    });
  } catch (err) {
    await retireIfNoWorktree(activation, opts.dir);
    // Started by a service manager: its log (the journal) is where this line can be seen.
    if (activation || err instanceof ActivationError) {
      process.stderr.write(`git-fsmond daemon: ${(err as Error).message}\n`);
    }
    if (!(err instanceof RepoError)) {
      logger?.log('error', `failed to start: ${(err as Error).stack ?? err}`);
    } else {
      if (isLasting(err)) {
        // Not opened yet when it is the state dir itself that was refused: then nowhere.
        stateDir ??= openQuietly(err.gitDir!);
        if (stateDir) recordRefusal(stateDir, err.message);
      }
      // Logged even when the marker could not be written (a full filesystem still appends to
      // an existing log): `start` reads the reason from there.
      if (stateDir) logger ??= loggerFor(stateDir, settingsFrom(new Map()), false);
      logger?.toFile('error', `refusing to start: ${err.message}`);
    }
    // After the refusal file: the waiting shim then records the very same line.
    startStatus.refused((err as Error).message);
    throw err;
  }
}

async function serve(
  repo: RepoInfo,
  settings: Settings,
  logger: Logger,
  location: SocketLocation,
  stateDir: StateDir,
  startStatus: StartStatus,
  options: { trace: TraceRequest; activation: Activation | null },
): Promise<number> {
  const daemon = new Daemon(repo, settings, logger, location, stateDir, options);
  // From here on a signal stops the daemon cleanly, even in the middle of starting.
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    process.on(sig, () => void daemon.shutdown(`received ${sig}`, 0));
  }
  process.on('SIGPIPE', () => {});
  process.on('uncaughtException', (err) => {
    logger.log('error', `uncaught: ${err.stack ?? err.message}`);
    void daemon.shutdown('internal error', 1);
  });
  try {
    await daemon.start();
  } catch (err) {
    if (err instanceof SocketInUseError) {
      logger.log('info', `not starting: ${err.message}`);
      return EXIT_ALREADY_RUNNING;
    }
    if (err instanceof SocketPathError) {
      throw new RepoError(err.message, 'unsafe', { gitDir: repo.gitDir });
    }
    throw err;
  }
  clearRefusal(stateDir);
  clearUnresponsive(stateDir);
  publishSmallRepo(stateDir, repo.gitDir, settings.smallRepoEntries);
  startStatus.listening();
  registerDaemon({
    pid: process.pid,
    worktree: repo.worktree,
    gitDir: repo.gitDir,
    socket: daemon.socketPath,
    version: packageVersion(),
    startedAtMs: Date.now(),
  });
  // Keep no directory of the worktree busy, so it can be unmounted or removed ($HOME may be a
  // worktree itself, so not there either).
  process.chdir('/');
  const code = await daemon.exited;
  unregisterDaemon(process.pid);
  return code;
}

/** Started by our socket unit for a worktree that is gone: see Daemon.retireUnitIfVanished. */
async function retireIfNoWorktree(activation: Activation | null, dir: string): Promise<void> {
  if (!activation?.unit || fs.existsSync(dir)) return;
  const failed = await retireSocketUnit(activation.unit);
  process.stderr.write(
    `git-fsmond daemon: '${dir}' is gone; ${failed ?? `disabled ${activation.unit}`}\n`,
  );
}

function openQuietly(gitDir: string): StateDir | null {
  try {
    return StateDir.open(gitDir);
  } catch {
    return null;
  }
}

function loggerFor(dir: StateDir, settings: Settings, toStderr: boolean): Logger {
  return new Logger({
    dir,
    level: settings.logLevel,
    maxBytes: settings.logMaxBytes,
    toStderr,
  });
}
