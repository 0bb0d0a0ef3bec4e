/** `list`: the worktrees this user enabled (global `fsmond.worktree`) and their daemons. */
import fs from 'node:fs';
import type { Command } from 'commander';
import { discoverRepo } from '../git/index.js';
import { action, examples, out } from './common.js';
import { GLOBAL_CWD, gitConfigGet, gitConfigUnset, isOurShim } from './config.js';
import { probeDaemon } from './control.js';
import { recordedWorktrees, WORKTREE_KEY } from './registry.js';

type State = 'watching' | 'starting' | 'stopped' | 'unresponsive' | 'missing';

interface Entry {
  worktree: string;
  state: State;
  pid: number | null;
  /** Why it is missing: the path is gone, or no longer a git worktree. */
  reason: string | null;
}

async function inspect(worktree: string): Promise<Entry> {
  const entry: Entry = { worktree, state: 'missing', pid: null, reason: null };
  if (!fs.existsSync(worktree)) return { ...entry, reason: 'no such directory' };
  let repo: Awaited<ReturnType<typeof discoverRepo>>;
  try {
    repo = await discoverRepo(worktree);
  } catch (err) {
    return { ...entry, reason: (err as Error).message };
  }
  // A plain directory now inside some other repository is not the worktree that was enabled.
  if (repo.worktree !== worktree) return { ...entry, reason: 'no longer a worktree root' };
  const probe = await probeDaemon(repo);
  if (probe.state === 'answering') {
    const s = probe.status;
    return { ...entry, state: s.watching ? 'watching' : 'starting', pid: s.pid };
  }
  if (probe.state === 'mute')
    return { ...entry, state: 'unresponsive', pid: probe.peer?.pid || null };
  return { ...entry, state: 'stopped' };
}

export function addListCommand(program: Command): void {
  program
    .command('list')
    .summary('list the worktrees you enabled and whether each daemon runs')
    .description(
      `List the worktrees \`enable\` recorded (global git config ${WORKTREE_KEY}), each with its ` +
        'state: watching, starting (registering watches), stopped, unresponsive (something ' +
        'listens but does not answer) or missing (the path is gone or no longer a worktree). ' +
        '--prune forgets the missing ones. A global `enable` covers every repository and is not ' +
        'listed per worktree.',
    )
    .option('--json', 'print the entries as a JSON array')
    .option('--prune', 'forget worktrees that are missing')
    .addHelpText(
      'after',
      examples(
        'git fsmond list',
        'git fsmond list --prune',
        'git fsmond list --json | jq -r \'.[] | select(.state == "stopped") | .worktree\'',
      ),
    )
    .action(
      action(async (opts: { json?: boolean; prune?: boolean }) => {
        const entries = await Promise.all((await recordedWorktrees()).map(inspect));
        if (opts.prune) {
          for (const e of entries.filter((x) => x.state === 'missing')) {
            await gitConfigUnset(GLOBAL_CWD, '--global', WORKTREE_KEY, e.worktree);
          }
        }
        if (opts.json) {
          out(JSON.stringify(entries, null, 2));
          return 0;
        }
        for (const e of entries) {
          const detail = e.pid !== null ? ` (pid ${e.pid})` : e.reason ? ` (${e.reason})` : '';
          const pruned = opts.prune && e.state === 'missing' ? ', forgotten' : '';
          out(`${e.state.padEnd(12)} ${e.worktree}${detail}${pruned}`);
        }
        if (entries.length === 0) out("no worktrees enabled: run 'git fsmond enable' in one");
        if (isOurShim(await gitConfigGet(GLOBAL_CWD, '--global', 'core.fsmonitor'))) {
          out('enabled globally: every repository without its own core.fsmonitor uses git-fsmond');
        }
        return 0;
      }),
    );
}
