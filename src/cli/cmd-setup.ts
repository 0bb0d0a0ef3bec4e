/** `enable` and `disable`: the git config that makes git use (or stop using) the daemon. */
import type { Command } from 'commander';
import { type DaemonEntry, runningDaemons, shimHome } from '../contract/index.js';
import { SETTINGS } from '../daemon/index.js';
import { discoverRepo, RepoError, type RepoInfo } from '../git/index.js';
import { action, dirOf, examples, note, out } from './common.js';
import {
  GLOBAL_CWD,
  gitConfigGet,
  gitConfigScope,
  isOurShim,
  needsShell,
  type Scope,
} from './config.js';
import { fetchStatus, refuseRemote, stopDaemon, stoppedLine, stopRegistered } from './control.js';
import { CHANGED, describeChange, disableConfig, enableConfig } from './enable.js';
import { enableMode, greetActivated, takeDownIpc } from './ipc-mode.js';
import { forgetWorktree, recordedWorktrees, recordWorktree, WORKTREE_KEY } from './registry.js';
import { installShims, type ShimChoice } from './shim-install.js';
import { declinedLine, tooSmallForMonitor } from './small-repo.js';
import { startWithProgress } from './start-watching.js';

const STOP_TIMEOUT_MS = 30_000;
const MIN = SETTINGS.enableMinEntries;

/** With --global, being outside any worktree is fine: there is just no daemon to start. */
async function worktreeIfAny(dir: string): Promise<RepoInfo | null> {
  try {
    return await discoverRepo(dir);
  } catch (err) {
    if (err instanceof RepoError && err.code !== 'git-missing') return null;
    throw err;
  }
}

async function startIfNone(repo: RepoInfo): Promise<void> {
  const running = await fetchStatus(repo);
  if (running) {
    out(`daemon already running (pid ${running.pid})`);
    return;
  }
  const s = await startWithProgress(repo);
  out(`started daemon (pid ${s.pid}), watching ${s.watchedDirectories} directories`);
}

/** The `list` bookkeeping must not undo the real work: a failure there is only a note. */
async function bookkeeping(fn: (wt: string) => Promise<boolean>, repo: RepoInfo) {
  try {
    return await fn(repo.worktree);
  } catch (err) {
    note(
      `could not update ${WORKTREE_KEY} in the global config (for 'list'): ${(err as Error).message}`,
    );
    return false;
  }
}

/** When another config file still points git at a shim, the next git command restarts it. */
async function noteStillEnabled(repo: RepoInfo, scope: Scope): Promise<void> {
  const value = await gitConfigGet(repo.worktree, null, 'core.fsmonitor');
  if (!isOurShim(value)) return;
  const where = (await gitConfigScope(repo.worktree, 'core.fsmonitor')) ?? 'another';
  const hint = scope === '--local' && where === 'global' ? ": 'git fsmond disable --global'" : '';
  note(
    `core.fsmonitor is still set in the ${where} config, so git keeps using git-fsmond here${hint}`,
  );
}

/** What `enable` proved: the shim it points git at answered a test run on this machine. */
function reportShim(shim: ShimChoice): void {
  const kind = shim.kind === 'c' ? 'the C shim' : 'the Node shim';
  out(`${kind} '${shim.path}' ran here and answered`);
  if (shim.cProblem) {
    note(
      `no C shim (${shim.cProblem}): the Node shim adds a node start-up (tens of ms) to every git command`,
    );
  }
  if (needsShell(shim.path)) note(`git runs '${shim.path}' through sh (shell characters)`);
}

/** A repository enabled before stays enabled: running `enable` again changes nothing. */
async function enabledHere(repo: RepoInfo): Promise<boolean> {
  return (await gitConfigGet(repo.worktree, '--local', CHANGED)) !== null;
}

export function addSetupCommands(program: Command): void {
  program
    .command('enable')
    .summary('make git use git-fsmond here (or everywhere) and start the daemon')
    .description(
      'Set core.fsmonitor to the hook shim, core.fsmonitorHookVersion=2 and ' +
        'core.untrackedCache=true in this repository (with --global: in your global config), print ' +
        'what changed, record the worktree for `list`, and start its daemon. Values you had are ' +
        'saved and put back by `disable`. Running it again changes nothing. A repository whose ' +
        `index has fewer than ${MIN.key} (${MIN.default}) entries is left alone unless ` +
        '--force: git scans it faster than it runs any monitor. With git >= 2.55 and ' +
        'a systemd user manager it sets IPC mode instead: core.fsmonitor=true, behind a systemd ' +
        'socket unit that starts the daemon, so git never starts its builtin one; elsewhere it ' +
        'stays in hook mode and says why (docs/ipc-mode.md).',
    )
    .option('--global', 'set the options in your global git config (works outside a repository)')
    .option('--hook', 'use the hook shim even where IPC mode works (docs/ipc-mode.md)')
    .option('--force', `enable even a repository below ${MIN.key} index entries`)
    .addHelpText(
      'after',
      examples(
        'git fsmond enable',
        'git fsmond enable --force',
        'git fsmond enable --hook',
        'git -C ~/src/big-repo fsmond enable',
        'git fsmond enable --global',
      ),
    )
    .action(
      action(async (opts: { global?: boolean; hook?: boolean; force?: boolean }, cmd: Command) => {
        const scope: Scope = opts.global ? '--global' : '--local';
        const repo = opts.global ? await worktreeIfAny(dirOf(cmd)) : await discoverRepo(dirOf(cmd));
        if (repo) await refuseRemote(repo);
        // Checked before anything is written: a declined enable leaves no trace.
        if (repo && !opts.global && !opts.force && !(await enabledHere(repo))) {
          const small = await tooSmallForMonitor(repo);
          if (small) {
            out(declinedLine(small));
            return 0;
          }
        }
        const shim = await installShims();
        const mode = await enableMode(
          repo,
          { forceHook: opts.hook, global: opts.global },
          shim.path,
        );
        const changes = await enableConfig(repo?.worktree ?? GLOBAL_CWD, scope, mode.monitor);
        const where = opts.global ? 'global config' : 'local config';
        for (const c of changes) out(describeChange(c, where));
        const recorded = !opts.global && repo ? await bookkeeping(recordWorktree, repo) : false;
        if (recorded) out(`recorded '${repo!.worktree}' in global ${WORKTREE_KEY}`);
        if (changes.length === 0 && !recorded) out(`already enabled in ${where}`);
        if (mode.mode === 'ipc') {
          if (repo) await greetActivated(repo);
          return 0;
        }
        reportShim(shim);
        if (opts.global && changes.length) {
          note(
            'globally, git spawns the shim in small repositories too, where it alone is faster (README "Small repositories"); `git fsmond enable` in each big repository instead leaves the small ones alone',
          );
        }
        if (repo) await startIfNone(repo);
        else note('not inside a worktree: each daemon starts with the first git command there');
        return 0;
      }),
    );

  program
    .command('disable')
    .summary('undo what enable set, then stop the daemon')
    .description(
      'Undo only what `enable` set (a value you changed since is left alone, and says so), forget ' +
        'the worktree for `list`, and stop its daemon (in IPC mode: remove its systemd units). ' +
        'Running it where nothing is enabled is fine. ' +
        'With --global it stops every daemon of yours that only the global setting enabled, and ' +
        'leaves those that a repository enables itself.',
    )
    .option('--global', 'undo it in your global git config')
    .option(
      '--all',
      'undo it in your global config and in every repository enable recorded, and stop every daemon of yours (before uninstalling)',
    )
    .addHelpText(
      'after',
      examples('git fsmond disable', 'git fsmond disable --global', 'git fsmond disable --all'),
    )
    .action(
      action(async (opts: { global?: boolean; all?: boolean }, cmd: Command) => {
        if (opts.all) return disableEverywhere();
        const scope: Scope = opts.global ? '--global' : '--local';
        const repo = opts.global ? await worktreeIfAny(dirOf(cmd)) : await discoverRepo(dirOf(cmd));
        const changes = await disableConfig(repo?.worktree ?? GLOBAL_CWD, scope);
        const where = opts.global ? 'global config' : 'local config';
        for (const c of changes) out(describeChange(c, where));
        // After the config: git must not be left with core.fsmonitor=true and no socket.
        if (repo && !opts.global) for (const line of await takeDownIpc(repo)) out(line);
        const forgot = !opts.global && repo ? await bookkeeping(forgetWorktree, repo) : false;
        if (forgot) out(`removed '${repo!.worktree}' from global ${WORKTREE_KEY}`);
        if (changes.length === 0 && !forgot) out(`not enabled in ${where}: nothing to undo`);
        if (opts.global) await stopGlobalOnly();
        if (!repo) return 0;
        if (!opts.global) {
          const stopped = await stopDaemon(repo, STOP_TIMEOUT_MS);
          if (stopped) out(stoppedLine(stopped));
        }
        await noteStillEnabled(repo, scope);
        return 0;
      }),
    );
}

/**
 * Before `npm uninstall -g`: the global config, every recorded worktree, every daemon. The
 * shim home stays, so that a repository enabled some other way keeps a hook git can run (it
 * answers `/` once the package is gone).
 */
async function disableEverywhere(): Promise<number> {
  for (const c of await disableConfig(GLOBAL_CWD, '--global'))
    out(describeChange(c, 'global config'));
  for (const wt of await recordedWorktrees()) {
    const repo = await worktreeIfAny(wt).catch(() => null);
    if (repo?.worktree === wt) {
      const where = `the local config of '${wt}'`;
      for (const c of await disableConfig(wt, '--local')) out(describeChange(c, where));
      for (const line of await takeDownIpc(repo)) out(line);
    } else {
      note(`'${wt}' is no longer a worktree: only forgotten`);
    }
    await forgetWorktree(wt);
  }
  const failed = await stopRegistered(runningDaemons(), STOP_TIMEOUT_MS);
  out(`kept the shims in '${shimHome()}' for repositories enabled by hand: remove it when none is`);
  return failed ? 1 : 0;
}

/** After a global disable: the daemons git would no longer use (no core.fsmonitor of ours). */
async function stopGlobalOnly(): Promise<void> {
  const globalOnly: DaemonEntry[] = [];
  for (const d of runningDaemons()) {
    const hook = await gitConfigGet(d.worktree, null, 'core.fsmonitor').catch(() => null);
    if (!isOurShim(hook)) globalOnly.push(d);
  }
  await stopRegistered(globalOnly, STOP_TIMEOUT_MS, ', which only the global setting enabled');
}
