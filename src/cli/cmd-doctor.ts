/** `doctor`: everything that decides whether git-fsmond works here, one line per check. */
import type { Command } from 'commander';
import { parseBool, settingsFrom } from '../daemon/index.js';
import { discoverRepo, RepoError, readConfig } from '../git/index.js';
import { action, dirOf, EXIT, examples, out } from './common.js';
import { gitConfigGet, gitConfigScope, monitorKind } from './config.js';
import { type Check, checkConfig, checkGit, checkShim, gitInfo } from './doctor-config.js';
import {
  checkDaemon,
  checkFilesystem,
  checkInotify,
  checkUntrackedCacheInIndex,
  countDirectories,
} from './doctor-system.js';
import { checkMode, modeReport } from './mode-report.js';
import { recordedWorktrees } from './registry.js';
import { tooSmallForMonitor } from './small-repo.js';

async function runChecks(dir: string): Promise<Check[]> {
  const git = await gitInfo();
  const checks: Check[] = [checkGit(git)];
  const daemons = (await recordedWorktrees().catch(() => [])).length;
  let repo: Awaited<ReturnType<typeof discoverRepo>>;
  try {
    repo = await discoverRepo(dir);
  } catch (err) {
    if (!(err instanceof RepoError)) throw err;
    // The machine-wide checks still help; the repository ones cannot run.
    checks.push({ check: 'repository', status: 'fail', message: err.message, advice: null });
    checks.push(checkInotify(null, daemons));
    return checks;
  }
  const all = await readConfig(repo.worktree);
  const fsmonitor = await gitConfigGet(repo.worktree, null, 'core.fsmonitor');
  const cfg = {
    worktree: repo.worktree,
    fsmonitor,
    fsmonitorScope:
      fsmonitor === null ? null : await gitConfigScope(repo.worktree, 'core.fsmonitor'),
    hookVersion: all.get('core.fsmonitorhookversion') ?? null,
    untrackedCache: all.get('core.untrackedcache') ?? null,
    all,
    tooSmall: fsmonitor === null ? await tooSmallForMonitor(repo, all) : null,
  };
  checks.push(...checkConfig(cfg, git));
  checks.push(checkUntrackedCacheInIndex(repo, parseBool(cfg.untrackedCache ?? '') === true));
  checks.push(checkInotify(countDirectories(repo.worktree), Math.max(daemons, 1)));
  checks.push(await checkFilesystem(repo, settingsFrom(all).allowRemote));
  checks.push(await checkShim(fsmonitor, monitorKind(fsmonitor), repo.worktree));
  checks.push(checkMode(await modeReport(repo, fsmonitor)));
  checks.push(await checkDaemon(repo));
  return checks;
}

export function addDoctorCommand(program: Command): void {
  program
    .command('doctor')
    .summary('check everything git-fsmond depends on here')
    .description(
      'Check git (version, whether core.fsmonitor=true IPC works with it), the config ' +
        '(core.fsmonitor, core.fsmonitorHookVersion, core.untrackedCache, fsmond.* values), the ' +
        "index's untracked cache, inotify limits against the directories in this worktree, the " +
        'filesystem, which shim git runs, and whether the daemon runs and answers. One line per ' +
        'check: ok, warn or fail, and what to do. Exit status 0 when nothing fails, else 1. ' +
        '--json prints {"ok": bool, "checks": [{check, status, message, advice}]}.',
    )
    .option('--json', 'print the checks as one JSON object')
    .addHelpText(
      'after',
      examples(
        'git fsmond doctor',
        'git fsmond doctor --json | jq \'.checks[] | select(.status != "ok")\'',
      ),
    )
    .action(
      action(async (opts: { json?: boolean }, cmd: Command) => {
        const checks = await runChecks(dirOf(cmd));
        const ok = checks.every((c) => c.status !== 'fail');
        if (opts.json) {
          out(JSON.stringify({ ok, checks }, null, 2));
        } else {
          for (const c of checks) {
            out(
              `${c.status.padEnd(4)} ${c.check}: ${c.message}${c.advice ? `; fix: ${c.advice}` : ''}`,
            );
          }
        }
        return ok ? EXIT.ok : EXIT.failure;
      }),
    );
}
