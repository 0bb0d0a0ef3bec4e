import { Command } from 'commander';
import { packageVersion } from '../contract/index.js';
import { addDaemonCommands } from './cmd-daemon.js';
import { addDoctorCommand } from './cmd-doctor.js';
import { addInspectCommands } from './cmd-inspect.js';
import { addListCommand } from './cmd-list.js';
import { addLogCommand } from './cmd-log.js';
import { addSetupCommands } from './cmd-setup.js';
import { CliError, EXIT, examples, reportError } from './common.js';
import { bashCompletion, zshCompletion } from './docs.js';

export const EXIT_CODES = `
Exit status:
  0   success; status: the daemon is watching; doctor: no check failed
  1   failure, reported in one line on stderr (not a repository, a bare repository, no
      daemon running, ...); status: not watching; doctor: a check failed
  2   usage error: unknown command or option, missing or bad argument
  70  internal error (a bug: please report it, with GIT_FSMOND_DEBUG=1 output)`;

const MORE = `
Settings are git config keys: fsmond.logLevel, fsmond.backend, ... (see the README,
"Configuration"); set them with git config, e.g. 'git config fsmond.logLevel debug', and
restart the daemon ('git fsmond stop'; the next git command starts it again).

Use 'git fsmond help <command>' or 'git fsmond <command> -h' for a command's help:
'git fsmond --help' makes git look for a man page instead.`;

export const version = packageVersion;

/** commander's messages, made one line: "git-fsmond: unknown option '--x' (Did you mean ...)". */
function oneLine(message: string): string {
  const text = message
    .trim()
    .replace(/^error: /, '')
    .replace(/\s*\n\s*/g, ' ')
    .replace(/\.$/, '');
  return `git-fsmond: ${text}; see 'git fsmond help'\n`;
}

export function buildProgram(): Command {
  const program = new Command('git fsmond')
    .description('A filesystem monitor that makes git status fast on big worktrees.')
    .version(version(), '-V, --version', 'print the version')
    .option('-C <dir>', 'run as if started in <dir>')
    .helpCommand('help [command]', 'show the help of a command')
    // Set before the subcommands are added: they copy these settings.
    .configureOutput({ outputError: (str, write) => write(oneLine(str)) })
    .exitOverride((err) => {
      // Help and --version exit 0; every parse error is a usage error.
      process.exit(err.exitCode === 0 ? EXIT.ok : EXIT.usage);
    })
    .addHelpText('after', `${EXIT_CODES}\n${MORE}`);

  addSetupCommands(program);
  addDaemonCommands(program);
  addInspectCommands(program);
  addLogCommand(program);
  addDoctorCommand(program);
  addListCommand(program);
  addCompletionCommand(program);

  for (const cmd of program.commands) {
    if (cmd.name() !== 'daemon') cmd.addHelpText('after', EXIT_CODES);
  }
  return program;
}

function addCompletionCommand(program: Command): void {
  program
    .command('completion')
    .description('print the bash or zsh completion script')
    .argument('<shell>', 'bash or zsh')
    .addHelpText(
      'after',
      examples(
        'git fsmond completion bash > ~/.local/share/bash-completion/completions/git-fsmond',
        'git fsmond completion zsh > ~/.zfunc/_git-fsmond    # with fpath+=(~/.zfunc)',
      ),
    )
    .action((shell: string) => {
      if (shell !== 'bash' && shell !== 'zsh') {
        throw new CliError(`no completion for '${shell}': use bash or zsh`, EXIT.usage);
      }
      process.stdout.write(shell === 'bash' ? bashCompletion(program) : zshCompletion(program));
    });
}

export async function main(argv: string[]): Promise<void> {
  // `git fsmond log | head`: a closed pipe ends the command quietly, as for any Unix tool.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(EXIT.ok);
    throw err;
  });
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    process.exitCode = reportError(err);
  }
}
