import { Command } from 'commander';
import { EXIT_ALREADY_RUNNING, runDaemon } from '../daemon/index.js';
import { discoverRepo, RepoError, type RepoInfo, socketPathFor } from '../git/index.js';
import { sendRequest } from '../ipc/index.js';
import { bestShim, gitConfigGet, needsShell, shimKind } from './config.js';
import { CliError, fetchStatus, startDaemon, stopDaemon } from './control.js';
import { disableConfig, enableConfig } from './enable.js';

const out = (s: string) => process.stdout.write(`${s}\n`);

interface Globals {
  C?: string;
}

async function repoOf(cmd: Command): Promise<RepoInfo> {
  const dir = (cmd.optsWithGlobals() as Globals).C ?? process.cwd();
  return discoverRepo(dir);
}

/** Wraps an action so that every failure is one line on stderr and a non-zero exit. */
function action<A extends unknown[]>(fn: (...args: A) => Promise<number | undefined>) {
  return async (...args: A) => {
    try {
      process.exitCode = (await fn(...args)) ?? 0;
    } catch (err) {
      const known = err instanceof CliError || err instanceof RepoError;
      process.stderr.write(`git-fsmond: ${known ? err.message : (err as Error).stack}\n`);
      process.exitCode = err instanceof CliError ? err.exitCode : known ? 1 : 70;
    }
  };
}

function printable(buf: Buffer): string {
  return buf.toString('latin1').replace(/\0/g, '\\0\n').trimEnd();
}

export function buildProgram(): Command {
  const program = new Command('git-fsmond')
    .description('A filesystem monitor that makes git status fast on big worktrees.')
    .option('-C <dir>', 'run as if started in <dir>')
    .showHelpAfterError()
    .addHelpText('after', '\nExit codes: 0 success, 1 failure or "not watching", 2 usage error.');

  program
    .command('enable')
    .description('use git-fsmond in this repository (or, with --global, in every repository)')
    .option('--global', 'set the options in your global git config')
    .addHelpText('after', '\nExamples:\n  git fsmond enable\n  git fsmond enable --global')
    .action(
      action(async (opts: { global?: boolean }, cmd: Command) => {
        const dir = (cmd.optsWithGlobals() as Globals).C ?? process.cwd();
        const repo = opts.global ? null : await discoverRepo(dir);
        const changes = await enableConfig(
          repo?.worktree ?? dir,
          opts.global ? '--global' : '--local',
        );
        for (const c of changes) out(`set ${c.key}=${c.to} (was ${c.from ?? 'unset'})`);
        if (changes.length === 0) out('already enabled');
        const shim = bestShim();
        if (shim.kind === 'node')
          out(
            'note: no C compiler was found at install; using the Node shim (~25 ms per git command)',
          );
        if (needsShell(shim.path))
          out(`note: '${shim.path}' has shell characters; git will run it through sh`);
        if (repo && !(await fetchStatus(repo))) {
          const s = await startDaemon(repo, {
            timeoutMs: 120_000,
            waitWatching: true,
            onProgress: (p) => {
              if (!p.watching)
                process.stderr.write(`\rwatching ${p.watchedDirectories} directories...`);
            },
          });
          if (process.stderr.isTTY) process.stderr.write('\n');
          out(`started daemon (pid ${s.pid}) watching ${s.watchedDirectories} directories`);
        }
        return 0;
      }),
    );

  program
    .command('disable')
    .description('undo what enable set, then stop the daemon')
    .option('--global', 'undo it in your global git config')
    .action(
      action(async (opts: { global?: boolean }, cmd: Command) => {
        const dir = (cmd.optsWithGlobals() as Globals).C ?? process.cwd();
        const repo = opts.global ? null : await discoverRepo(dir);
        const changes = await disableConfig(
          repo?.worktree ?? dir,
          opts.global ? '--global' : '--local',
        );
        for (const c of changes)
          out(`${c.to === null ? 'unset' : 'restored'} ${c.key}${c.to === null ? '' : `=${c.to}`}`);
        if (repo && (await stopDaemon(repo, 30_000))) out('stopped daemon');
        return 0;
      }),
    );

  program
    .command('start')
    .description('start the daemon for this worktree in the background')
    .action(
      action(async (_o: unknown, cmd: Command) => {
        const repo = await repoOf(cmd);
        const s = await startDaemon(repo, { timeoutMs: 120_000, waitWatching: false });
        out(`started daemon (pid ${s.pid}) for '${repo.worktree}'`);
        return 0;
      }),
    );

  program
    .command('run')
    .description('run the daemon in the foreground, logging to stderr')
    .action(
      action(async (_o: unknown, cmd: Command) => {
        const dir = (cmd.optsWithGlobals() as Globals).C ?? process.cwd();
        const code = await runDaemon({ dir, logToStderr: true });
        if (code === EXIT_ALREADY_RUNNING) throw new CliError('already running for this worktree');
        process.exit(code);
      }),
    );

  program
    .command('daemon <worktree>', { hidden: true })
    .description('the detached daemon, as started by the hook shim')
    .action(async (worktree: string) => {
      let code = 1;
      try {
        code = await runDaemon({ dir: worktree, logToStderr: false });
      } catch {
        code = 1;
      }
      process.exit(code);
    });

  program
    .command('stop')
    .description('stop the daemon and wait until it has exited')
    .option('--timeout <seconds>', 'give up after this long', '30')
    .action(
      action(async (opts: { timeout: string }, cmd: Command) => {
        const repo = await repoOf(cmd);
        if (!(await stopDaemon(repo, Number(opts.timeout) * 1000))) {
          throw new CliError(`not running for '${repo.worktree}'`);
        }
        out('stopped');
        return 0;
      }),
    );

  program
    .command('status')
    .description('say whether a daemon watches this worktree (exit 0) or not (exit 1)')
    .option('--json', 'print every detail as JSON')
    .action(
      action(async (opts: { json?: boolean }, cmd: Command) => {
        const repo = await repoOf(cmd);
        const s = await fetchStatus(repo);
        const shim = await gitConfigGet(repo.worktree, '--local', 'core.fsmonitor');
        if (opts.json) {
          out(
            JSON.stringify(
              { running: s !== null, worktree: repo.worktree, shim: shimKind(shim), ...s },
              null,
              2,
            ),
          );
        } else if (!s) {
          out(`not watching '${repo.worktree}'`);
        } else {
          out(`${s.watching ? 'watching' : 'starting to watch'} '${repo.worktree}' (pid ${s.pid})`);
          out(
            `  ${s.watchedDirectories} directories, ${s.events} events, ${s.queries} queries, last answer ${s.lastAnswerMs} ms`,
          );
        }
        return s?.watching ? 0 : 1;
      }),
    );

  program
    .command('query <token>')
    .description('ask the daemon what changed since <token> (NULs shown as \\0)')
    .option('--raw', 'print the answer bytes unchanged')
    .action(
      action(async (token: string, opts: { raw?: boolean }, cmd: Command) => {
        const repo = await repoOf(cmd);
        const answer = await sendRequest(
          socketPathFor(repo.gitDir),
          Buffer.from(token, 'utf8'),
        ).catch(() => {
          throw new CliError(`not running for '${repo.worktree}'`);
        });
        if (opts.raw) process.stdout.write(answer);
        else out(printable(answer));
        return 0;
      }),
    );

  program
    .command('flush')
    .description('start a new token epoch: every older token gets a full-scan answer')
    .action(
      action(async (_o: unknown, cmd: Command) => {
        const repo = await repoOf(cmd);
        const answer = await sendRequest(socketPathFor(repo.gitDir), Buffer.from('flush')).catch(
          () => {
            throw new CliError(`not running for '${repo.worktree}'`);
          },
        );
        out(printable(answer));
        return 0;
      }),
    );

  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  program.exitOverride((err) => {
    process.exit(err.exitCode === 0 ? 0 : 2);
  });
  await program.parseAsync(argv);
}
