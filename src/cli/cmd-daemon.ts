/** `start`, `run`, `stop` and the hidden `daemon` the hook shim runs. */
import { type Command, InvalidArgumentError } from 'commander';
import { runningDaemons } from '../contract/index.js';
import { EXIT_ALREADY_RUNNING, runDaemon } from '../daemon/index.js';
import { action, examples, note, out, repoOf, worktreeCommand } from './common.js';
import { gitConfigGet, isOurShim } from './config.js';
import {
  alreadyRunning,
  fetchStatus,
  refuseRemote,
  stopDaemon,
  stoppedLine,
  stopRegistered,
} from './control.js';
import { daemonMain } from './daemon-main.js';
import { startedLine, startWithProgress } from './start-watching.js';

function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0)
    throw new InvalidArgumentError('Expected a number of seconds above 0.');
  return n;
}

export function addDaemonCommands(program: Command): void {
  program
    .command('start')
    .summary('start the daemon for this worktree in the background')
    .description(
      'Start the daemon for this worktree, detached, and return once it watches: every ' +
        'directory registered, so `status` succeeds right after (progress on stderr meanwhile). ' +
        'With --no-wait, return as soon as it listens; it registers in the background and git ' +
        'commands meanwhile get "/" (a full scan), never a wrong answer. Fails when a daemon ' +
        "already runs here, in git's words: 'fsmonitor--daemon is already running'. Git starts " +
        'the daemon by itself on the first command once `enable` has run, so this is rarely ' +
        'needed.',
    )
    .option('--no-wait', 'return once the daemon listens, before it watches')
    .addHelpText(
      'after',
      examples(
        'git fsmond start',
        'git fsmond start && git fsmond status',
        'git fsmond start --no-wait',
      ),
    )
    .action(
      action(async (opts: { wait: boolean }, cmd: Command) => {
        const repo = await repoOf(cmd);
        await refuseRemote(repo);
        const s = await startWithProgress(repo, opts.wait);
        out(startedLine(s, repo));
        const hook = await gitConfigGet(repo.worktree, null, 'core.fsmonitor');
        if (!s.socketActivated && !isOurShim(hook)) {
          note("git does not use git-fsmond in this repository yet: run 'git fsmond enable'");
        }
        return 0;
      }),
    );

  program
    .command('run')
    .summary('run the daemon in the foreground, logging to stderr')
    .description(
      'Run the daemon in this process, logging to stderr as well as to the log file, until it ' +
        'is stopped (Ctrl-C, `git fsmond stop`) or its worktree goes away. For debugging.',
    )
    .addHelpText(
      'after',
      examples('git fsmond run', 'git -c fsmond.logLevel=debug fsmond run 2>&1 | tee fsmond.log'),
    )
    .action(
      action(async (_o: unknown, cmd: Command) => {
        const repo = await repoOf(cmd);
        // Checked here so that the refusal is our one line, not the daemon's log line too.
        const running = await fetchStatus(repo);
        if (running) throw alreadyRunning(repo, running.pid);
        const code = await runDaemon({ dir: repo.worktree, logToStderr: true });
        if (code === EXIT_ALREADY_RUNNING) throw alreadyRunning(repo);
        // A blocked inotify read keeps the event loop alive: leave explicitly.
        process.exit(code);
      }),
    );

  program
    .command('daemon <worktree>', { hidden: true })
    .description('the detached daemon, as started by the hook shim and `start`')
    .action(daemonMain);

  program
    .command('stop')
    .summary('stop the daemon and wait until it has exited')
    .description(
      'Ask the daemon to quit and wait until its process has exited. A daemon that does not ' +
        'answer (stopped, hung) is sent SIGTERM, then SIGKILL, once its pid is verified to be ' +
        "this worktree's daemon. No daemon running is success (a note on stderr); fails when " +
        'it is still alive after --timeout seconds. --all stops every daemon of yours, wherever ' +
        'it runs (those a global enable started too). In IPC mode systemd stops it, and its ' +
        'socket keeps listening: the next git command starts it again.',
    )
    .option('--timeout <seconds>', 'give up after this long', seconds, 30)
    .option('--all', 'stop every running daemon of yours, not only this worktree’s')
    .addHelpText(
      'after',
      examples('git fsmond stop', 'git fsmond stop --timeout 5', 'git fsmond stop --all'),
    )
    .action(
      action(async (opts: { timeout: number; all?: boolean }, cmd: Command) => {
        if (opts.all) return stopAll(opts.timeout * 1000);
        const repo = await repoOf(cmd);
        const stopped = await stopDaemon(repo, opts.timeout * 1000);
        // Scripts stop before they change things: nothing to stop is success, said on stderr.
        if (stopped) out(stoppedLine(stopped));
        else note(`no daemon is running for '${repo.worktree}': nothing to stop`);
        return 0;
      }),
    );

  worktreeCommand(
    program,
    'restart',
    {
      summary: 'stop the daemon, then start it again (say, after an upgrade)',
      description:
        'Stop the daemon of this worktree if one runs, then start a new one, which runs the ' +
        'installed version: `status` shows the version a daemon runs.',
      examples: ['git fsmond restart'],
    },
    async (repo) => {
      await refuseRemote(repo);
      const stopped = await stopDaemon(repo, 30_000);
      if (stopped) out(stoppedLine(stopped));
      const s = await startWithProgress(repo);
      out(startedLine(s, repo));
      return 0;
    },
  );
}

/** Every daemon this user runs, found through their registrations; exit 1 if one stays. */
async function stopAll(timeoutMs: number): Promise<number> {
  const daemons = runningDaemons();
  if (daemons.length === 0) note('no daemon of yours is running: nothing to stop');
  return (await stopRegistered(daemons, timeoutMs)) > 0 ? 1 : 0;
}
