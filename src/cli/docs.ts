/**
 * The man page and the shell completions, generated from the same commander program that
 * parses the command line, so that neither can drift from the CLI's own help.
 */
import type { Command, Help } from 'commander';

interface CommandInfo {
  name: string;
  term: string;
  description: string;
  options: Array<{ term: string; flags: string[]; description: string }>;
}

function describe(program: Command): { help: Help; commands: CommandInfo[] } {
  const help = program.createHelp();
  const commands = help.visibleCommands(program).map((cmd) => ({
    name: cmd.name(),
    term: help.subcommandTerm(cmd),
    description: help.subcommandDescription(cmd),
    options: help.visibleOptions(cmd).map((opt) => ({
      term: help.optionTerm(opt),
      flags: [opt.short, opt.long].filter((f): f is string => !!f),
      description: help.optionDescription(opt),
    })),
  }));
  return { help, commands };
}

/** roff escapes: a leading dot or quote would start a request; backslashes and dashes. */
const roff = (text: string) =>
  text
    .replace(/\\/g, '\\e')
    .replace(/-/g, '\\-')
    .replace(/^([.'])/gm, '\\&$1');

export function manPage(program: Command, version: string, exitCodes: string): string {
  const { help, commands } = describe(program);
  const lines = [
    `.TH GIT-FSMOND 1 "" "git-fsmond ${version}" "git-fsmond manual"`,
    '.SH NAME',
    `git-fsmond \\- ${roff(help.commandDescription(program))}`,
    '.SH SYNOPSIS',
    '.B git fsmond',
    '[\\fB\\-C\\fR \\fIdir\\fR] \\fIcommand\\fR [\\fIoptions\\fR]',
    '.SH DESCRIPTION',
    'git-fsmond is a filesystem-monitor daemon for git. Each worktree gets one daemon that',
    'watches it and answers, over a Unix socket in the git dir, which paths changed since a',
    "token git saved in its index; git then examines only those paths. git's hook",
    '(core.fsmonitor) starts the daemon on the first git command after \\fBgit fsmond enable\\fR.',
    '.SH OPTIONS',
  ];
  for (const opt of help.visibleOptions(program)) {
    lines.push('.TP', `.B ${roff(help.optionTerm(opt))}`, roff(help.optionDescription(opt)));
  }
  lines.push('.SH COMMANDS');
  for (const cmd of commands) {
    lines.push('.TP', `.B ${roff(cmd.term)}`, roff(cmd.description));
    for (const opt of cmd.options) {
      if (opt.flags.includes('--help')) continue;
      lines.push('.RS', '.TP', `.B ${roff(opt.term)}`, roff(opt.description), '.RE');
    }
  }
  lines.push('.SH EXIT STATUS', '.nf', roff(exitCodes.replace(/^\s*Exit status:\s*\n/, '')), '.fi');
  lines.push(
    '.SH CONFIGURATION',
    'Settings are git config keys under \\fBfsmond.*\\fR; see the README for the table.',
    '.SH SEE ALSO',
    '\\fBgit-config\\fR(1), \\fBgit-update-index\\fR(1) (core.fsmonitor)',
  );
  return `${lines.join('\n')}\n`;
}

export function bashCompletion(program: Command): string {
  const { commands } = describe(program);
  const cases = commands
    .map((c) => `    ${c.name}) opts="${c.options.flatMap((o) => o.flags).join(' ')}" ;;`)
    .join('\n');
  return `# bash completion for git-fsmond ('git fsmond' and 'git-fsmond')
_git_fsmond() {
  local cur=\${COMP_WORDS[COMP_CWORD]} cmd="" i opts
  for ((i = 1; i < COMP_CWORD; i++)); do
    case \${COMP_WORDS[i]} in
      fsmond|-C) ;;
      -*) ;;
      *) [ "\${COMP_WORDS[i-1]}" = "-C" ] || { cmd=\${COMP_WORDS[i]}; break; } ;;
    esac
  done
  if [ -z "$cmd" ]; then
    COMPREPLY=($(compgen -W "${commands.map((c) => c.name).join(' ')} -C --help --version" -- "$cur"))
    return
  fi
  case $cmd in
${cases}
    *) opts="" ;;
  esac
  COMPREPLY=($(compgen -W "$opts" -- "$cur"))
}
complete -F _git_fsmond git-fsmond
`;
}

export function zshCompletion(program: Command): string {
  const { commands } = describe(program);
  const quote = (s: string) => s.replace(/'/g, "'\\''").replace(/:/g, '\\:');
  const cmdList = commands.map((c) => `    '${c.name}:${quote(c.description)}'`).join('\n');
  const cases = commands
    .map((c) => {
      const specs = c.options
        .map((o) => `'(${o.flags.join(' ')})'{${o.flags.join(',')}}'[${quote(o.description)}]'`)
        .join(' ');
      return `      ${c.name}) _arguments ${specs || "'*: :_files'"} ;;`;
    })
    .join('\n');
  return `#compdef git-fsmond
# zsh completion for git-fsmond; git's own completion calls _git-fsmond for 'git fsmond'.
_git-fsmond() {
  local -a commands
  commands=(
${cmdList}
  )
  if (( CURRENT == 2 )); then
    _describe 'git-fsmond command' commands
    return
  fi
  case $words[2] in
${cases}
  esac
}
_git-fsmond "$@"
`;
}
