/** `list`: the worktrees this user enabled (global `fsmond.worktree`) and their daemons. */
import fs from 'node:fs';
import type { Command } from 'commander';
import { type DaemonEntry, runningDaemons } from '../contract/index.js';
import { discoverRepo, type RepoInfo } from '../git/index.js';
import { action, examples, out } from './common.js';
import { GLOBAL_CWD, gitConfigGet, gitConfigUnset, isOurShim } from './config.js';
import { probeDaemon, repoOfDaemon } from './control.js';
import { duration, megabytes } from './format.js';
import { recordedWorktrees, WORKTREE_KEY } from './registry.js';

type State = 'watching' | 'starting' | 'stopped' | 'unresponsive' | 'missing';

interface Entry {
  worktree: string;
  state: State;
  pid: number | null;
  /** Why it is missing: the path is gone, or no longer a git worktree. */
  reason: string | null;
  /** Recorded by `enable`; false for a daemon that a global enable (or `start`) started. */
  recorded: boolean;
  version: string | null;
  rssBytes: number | null;
  uptimeMs: number | null;
  /** Since the daemon's last query. */
  idleMs: number | null;
}

const NO_DAEMON = { pid: null, version: null, rssBytes: null, uptimeMs: null, idleMs: null };

async function inspect(worktree: string): Promise<Entry> {
  const entry: Entry = { worktree, state: 'missing', reason: null, recorded: true, ...NO_DAEMON };
  if (!fs.existsSync(worktree)) return { ...entry, reason: 'no such directory' };
  let repo: RepoInfo;
  try {
    repo = await discoverRepo(worktree);
  } catch (err) {
    return { ...entry, reason: (err as Error).message };
  }
  // A plain directory now inside some other repository is not the worktree that was enabled.
  if (repo.worktree !== worktree) return { ...entry, reason: 'no longer a worktree root' };
  return withProbe(entry, repo);
}

async function withProbe(entry: Entry, repo: RepoInfo): Promise<Entry> {
  const probe = await probeDaemon(repo);
  if (probe.state === 'answering') {
    const s = probe.status;
    return {
      ...entry,
      state: s.watching ? 'watching' : 'starting',
      pid: s.pid,
      version: s.version ?? null,
      rssBytes: s.rssBytes,
      uptimeMs: s.uptimeMs,
      idleMs: s.idleMs ?? null,
    };
  }
  if (probe.state === 'mute') {
    return { ...entry, state: 'unresponsive', pid: probe.peer?.pid || entry.pid };
  }
  return { ...entry, state: 'stopped' };
}

/** A running daemon nobody recorded: probed through its registration. */
function inspectRunning(d: DaemonEntry): Promise<Entry> {
  const entry: Entry = {
    worktree: d.worktree,
    state: 'stopped',
    reason: null,
    recorded: false,
    ...NO_DAEMON,
    pid: d.pid,
    version: d.version,
    uptimeMs: Date.now() - d.startedAtMs,
  };
  return withProbe(entry, repoOfDaemon(d));
}

/** Every worktree enable recorded, then every other running daemon of this user. */
async function allEntries(): Promise<Entry[]> {
  const recorded = await Promise.all((await recordedWorktrees()).map(inspect));
  const known = new Set(recorded.map((e) => e.worktree));
  const others = runningDaemons().filter((d) => !known.has(d.worktree));
  return [...recorded, ...(await Promise.all(others.map(inspectRunning)))];
}

function details(e: Entry): string {
  const parts: string[] = [];
  if (e.pid !== null) parts.push(`pid ${e.pid}`);
  if (e.rssBytes !== null) parts.push(megabytes(e.rssBytes));
  if (e.uptimeMs !== null) parts.push(`up ${duration(e.uptimeMs)}`);
  if (e.idleMs !== null) parts.push(`idle ${duration(e.idleMs)}`);
  if (e.version !== null) parts.push(`v${e.version}`);
  if (!e.recorded) parts.push('not recorded by enable');
  if (e.reason) parts.push(e.reason);
  return parts.length > 0 ? ` (${parts.join(', ')})` : '';
}

export function addListCommand(program: Command): void {
  program
    .command('list')
    .summary('list the worktrees you enabled and every daemon of yours that runs')
    .description(
      `List the worktrees \`enable\` recorded (global git config ${WORKTREE_KEY}) and every ` +
        'other running daemon of yours (say, one a global enable started), each with its ' +
        'state: watching, starting (registering watches), stopped, unresponsive (something ' +
        'listens but does not answer) or missing (the path is gone or no longer a worktree). ' +
        '--prune forgets the missing ones. A running daemon shows its pid, memory, uptime, time ' +
        'since its last query and version.',
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
        const entries = await allEntries();
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
          const pruned = opts.prune && e.state === 'missing' ? ', forgotten' : '';
          out(`${e.state.padEnd(12)} ${e.worktree}${details(e)}${pruned}`);
        }
        if (entries.length === 0) out("no worktrees enabled: run 'git fsmond enable' in one");
        if (isOurShim(await gitConfigGet(GLOBAL_CWD, '--global', 'core.fsmonitor'))) {
          out('enabled globally: every repository without its own core.fsmonitor uses git-fsmond');
        }
        return 0;
      }),
    );
}
