/**
 * IPC mode in the CLI (docs/ipc-mode.md): choosing it, setting it up and taking it down. The
 * decision itself is src/service/mode.ts; this gathers what it needs.
 */
import { shimHomeFile, socketPathFor } from '../contract/index.js';
import type { RepoInfo } from '../git/index.js';
import {
  decideMode,
  installUnits,
  type ModeChoice,
  removeUnits,
  unitSafe,
  unitsInstalled,
  unitsOf,
  userManager,
} from '../service/index.js';
import { CliError, note, out } from './common.js';
import {
  type DaemonStatus,
  describeMute,
  fetchStatus,
  probeDaemon,
  stopDaemon,
  stoppedLine,
} from './control.js';
import { gitInfo } from './doctor-config.js';

/** The value of core.fsmonitor that makes git >= 2.55 talk to the socket itself. */
export const IPC_MONITOR = 'true';

function unitSpec(repo: RepoInfo) {
  return {
    worktree: repo.worktree,
    gitDir: repo.gitDir,
    socketPath: socketPathFor(repo.gitDir),
    // node by its absolute path: systemd's PATH need not have it (docs/ipc-mode.md, upgrades).
    // The launcher through the shim home's link, which enable points at the installed package:
    // a reinstall at another path needs no new units.
    command: [process.execPath, shimHomeFile('launcher'), 'daemon', repo.worktree],
  };
}

/**
 * Which mode `enable` sets up here, and why. `probe`: also ask who listens on the socket now
 * (a connection: under IPC mode it starts the daemon, so doctor and status leave it out).
 */
export async function chooseMode(
  repo: RepoInfo | null,
  opts: { forceHook?: boolean; global?: boolean; probe?: boolean },
): Promise<ModeChoice & { gitIpc: boolean }> {
  const git = await gitInfo();
  const needsMore = !opts.forceHook && !opts.global && git.ipc && process.platform === 'linux';
  const manager = needsMore ? await userManager() : { reachable: false, why: 'not asked' };
  let foreign: string | null = null;
  if (repo && opts.probe && manager.reachable && !unitsInstalled(repo.gitDir)) {
    const p = await probeDaemon(repo);
    if (p.state === 'mute') foreign = describeMute(p.peer);
  }
  const choice = decideMode({
    forceHook: opts.forceHook === true,
    global: opts.global === true || repo === null,
    platform: process.platform,
    gitVersion: git.version,
    gitIpc: git.ipc,
    manager,
    unitUnsafe: repo !== null && !unitSafe(unitSpec(repo)),
    foreign,
  });
  return { ...choice, gitIpc: git.ipc };
}

export interface EnabledMode extends ModeChoice {
  /** The core.fsmonitor value for this mode: IPC_MONITOR, or the shim's path. */
  monitor: string;
}

/**
 * `enable`'s half of the mode: chooses it and sets up or takes down the units, before the
 * config changes (the socket must listen before git is told core.fsmonitor=true). Says what it
 * did; a hook mode where git could do IPC says why.
 */
export async function enableMode(
  repo: RepoInfo | null,
  opts: { forceHook?: boolean; global?: boolean },
  shim: string,
): Promise<EnabledMode> {
  const choice = await chooseMode(repo, { ...opts, probe: true });
  if (choice.mode === 'ipc' && repo) {
    try {
      for (const line of await setUpIpc(repo)) out(line);
      return { ...choice, monitor: IPC_MONITOR };
    } catch (err) {
      for (const line of await takeDownIpc(repo)) note(line);
      choice.mode = 'hook';
      choice.reason = `setting up the socket unit failed: ${(err as Error).message}`;
    }
  } else if (repo && !opts.global) {
    for (const line of await takeDownIpc(repo)) out(line);
  }
  if (choice.gitIpc && !opts.forceHook) note(`hook mode: ${choice.reason}`);
  return { ...choice, mode: 'hook', monitor: shim };
}

/**
 * Stops a hook-mode daemon first (systemd would take its socket path from under it), then
 * writes and starts the units. Rerun, it rewrites them (node may have moved) and leaves a
 * running daemon alone.
 */
async function setUpIpc(repo: RepoInfo): Promise<string[]> {
  const lines: string[] = [];
  if (!unitsInstalled(repo.gitDir)) {
    const stopped = await stopDaemon(repo, 30_000);
    if (stopped) lines.push(`${stoppedLine(stopped)}: IPC mode replaces it`);
  }
  const units = await installUnits(unitSpec(repo));
  lines.push(
    `${units.name}.socket listens on '${socketPathFor(repo.gitDir)}' (systemd --user, enabled at log-in)`,
  );
  return lines;
}

/** After enable in IPC mode: the first connection starts the daemon, as git's first command would. */
export async function greetActivated(repo: RepoInfo): Promise<void> {
  const s = await fetchStatus(repo, 60_000);
  if (s) out(`systemd started the daemon (pid ${s.pid}) on the first connection`);
  else note(`the daemon did not answer on the socket yet; see 'git fsmond doctor'`);
}

/**
 * `start` and `restart` under IPC mode: a connection makes systemd start the daemon (a
 * detached one of ours would find the socket taken). Null in hook mode.
 */
export async function startActivated(repo: RepoInfo): Promise<DaemonStatus | null> {
  if (!unitsInstalled(repo.gitDir)) return null;
  const s = await fetchStatus(repo, 60_000);
  if (s) return s;
  throw new CliError(`the socket unit did not start the daemon; see 'git fsmond doctor'`);
}

/** Removes the units if there are any: lines saying what was done or what failed. */
export async function takeDownIpc(repo: RepoInfo): Promise<string[]> {
  if (!unitsInstalled(repo.gitDir)) return [];
  const { name } = unitsOf(repo.gitDir);
  const failed = await removeUnits(repo.gitDir);
  return failed.length ? failed : [`removed ${name}.socket and ${name}.service`];
}
