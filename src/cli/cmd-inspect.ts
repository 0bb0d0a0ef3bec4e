/** `status`, `query` and `flush`: what the running daemon says. */
import type { Command } from 'commander';
import { REQUEST } from '../contract/index.js';
import type { RepoInfo } from '../git/index.js';
import { action, CliError, EXIT, examples, out, repoOf, worktreeCommand } from './common.js';
import { gitConfigGet, monitorKind } from './config.js';
import {
  ANSWER_WITHIN_MS,
  describeMute,
  lastRefusal,
  type Probe,
  probeDaemon,
  request,
  startBlocker,
} from './control.js';
import { duration, megabytes, readableAnswer } from './format.js';
import { modeReport } from './mode-report.js';

/** The `status --json` document: the same keys whether or not a daemon runs. */
async function statusDocument(repo: RepoInfo, probing: Promise<Probe>) {
  // Side by side with the probe, already under way: a mute daemon costs it its whole wait.
  const hook = await gitConfigGet(repo.worktree, null, 'core.fsmonitor');
  const [probe, mode] = await Promise.all([probing, modeReport(repo, hook)]);
  const s = probe.state === 'answering' ? probe.status : null;
  const mutePid = probe.state === 'mute' && probe.peer?.pid ? probe.peer.pid : null;
  const { pid, watching, ...rest }: Record<string, unknown> = s ?? {};
  return {
    running: probe.state !== 'none',
    /** False for a daemon that accepts connections but does not answer (stopped, hung). */
    responding: s !== null,
    watching: watching === true,
    pid: pid ?? mutePid,
    worktree: repo.worktree,
    gitDir: repo.gitDir,
    token: rest.token ?? null,
    uptimeMs: rest.uptimeMs ?? null,
    watchedDirectories: rest.watchedDirectories ?? null,
    events: rest.events ?? null,
    queries: rest.queries ?? null,
    lastAnswerMs: rest.lastAnswerMs ?? null,
    rssBytes: rest.rssBytes ?? null,
    backend: rest.backend ?? null,
    /** c, node (our shims), ipc (core.fsmonitor=true), none, or other (someone else's hook). */
    shim: monitorKind(hook),
    shimPath: hook,
    /** ipc (core.fsmonitor=true, via socket activation), hook, or null (not enabled). */
    mode: mode.mode,
    modeReason: mode.reason,
    /** With no daemon running: why the last start was refused, if it was. */
    lastError: rest.lastError ?? (probe.state === 'none' ? lastRefusal(repo) : null),
    /** With no daemon running: what would stop one from starting (and its fix), if seen. */
    startBlocked: probe.state === 'none' ? blockerText(repo) : null,
    /** Who listens, for a daemon that does not answer. */
    mute: probe.state === 'mute' ? describeMute(probe.peer) : null,
    ...rest,
  };
}

/** Why a daemon cannot start here, with the fix, when that can be seen in advance. */
function blockerText(repo: RepoInfo): string | null {
  const b = startBlocker(repo);
  return b ? `${b.reason}; fix: ${b.fix}` : null;
}

function humanStatus(doc: Awaited<ReturnType<typeof statusDocument>>): string[] {
  if (doc.mute) {
    return [
      `not responding: ${doc.mute} listens on the socket of '${doc.worktree}' but did not answer within ${ANSWER_WITHIN_MS} ms (stopped or hung); 'git fsmond stop' ends it`,
    ];
  }
  if (!doc.running) {
    const enabled = doc.shim === 'c' || doc.shim === 'node';
    const why = doc.lastError
      ? `the daemon refused to start: ${doc.lastError}`
      : doc.startBlocked
        ? `the daemon cannot start: ${doc.startBlocked}`
        : enabled
          ? 'no daemon is running (the next git command starts one)'
          : "git-fsmond is not enabled here: run 'git fsmond enable'";
    return [`not watching '${doc.worktree}': ${why}`];
  }
  const state = doc.watching
    ? 'watching'
    : `registering watches (${doc.watchedDirectories} directories so far) in`;
  const lines = [
    `${state} '${doc.worktree}'`,
    `  daemon pid ${doc.pid}, up ${duration(Number(doc.uptimeMs))}, ${doc.backend ?? '?'} backend, ${megabytes(Number(doc.rssBytes))} RSS, shim: ${doc.shim}`,
    `  ${doc.watchedDirectories} directories, ${doc.events} events, ${doc.queries} queries, last answer ${doc.lastAnswerMs} ms`,
  ];
  if (doc.lastError) lines.push(`  last error: ${doc.lastError}`);
  return lines;
}

const REQUESTS: ReadonlySet<string> = new Set(Object.values(REQUEST));

/** The token line as `query` prints it, `builtin:…\0`: the `\0` stands for the NUL after it. */
const withoutShownNul = (arg: string) => (arg.endsWith('\\0') ? arg.slice(0, -2) : arg);

export function addInspectCommands(program: Command): void {
  program
    .command('status')
    .summary('say whether a daemon watches this worktree')
    .description(
      'Say whether a daemon watches this worktree. Exit status 0 when it is watching; 1 when ' +
        'no daemon runs or it is still registering its watches (`start` returns only once it ' +
        'watches, so `start && status` succeeds; not so after `start --no-wait`).\n\n' +
        '--json keys: running, watching, pid, worktree, gitDir, token, uptimeMs, ' +
        'watchedDirectories, events, queries, lastAnswerMs, rssBytes, backend, shim (c, node, ' +
        'ipc, none or other), shimPath, lastError (with no daemon running: why its last start was ' +
        'refused), responding (false for a daemon that accepts but does not answer), mute (who ' +
        'listens then), startBlocked (with no daemon running: what would stop one from starting), ' +
        'and whatever else the daemon reports. They are all present (null) when no daemon runs.',
    )
    .option('--json', 'print every detail as one JSON object')
    .addHelpText(
      'after',
      examples(
        'git fsmond status',
        'git fsmond status --json | jq .watchedDirectories',
        'git fsmond status >/dev/null || git fsmond start',
      ),
    )
    .action(
      action(async (opts: { json?: boolean }, cmd: Command) => {
        const repo = await repoOf(cmd);
        const doc = await statusDocument(repo, probeDaemon(repo));
        if (opts.json) out(JSON.stringify(doc, null, 2));
        else for (const line of humanStatus(doc)) out(line);
        return doc.watching ? EXIT.ok : EXIT.failure;
      }),
    );

  program
    .command('query <token>')
    .summary('ask the daemon what changed since <token>')
    .description(
      'Ask the daemon what changed since <token>, as git does. The answer is a new token and ' +
        'the changed paths, each ended by a NUL, shown here one per line with the NUL as \\0 ' +
        '(control characters escaped); "/" means "everything may have changed". Any unknown ' +
        'token, such as "0", gets "/" and a fresh token to ask with next time. The token line ' +
        'pastes back as it is printed: a <token> ending in \\0 is taken without it.',
    )
    .option('--raw', 'print the answer bytes unchanged, NULs included')
    .addHelpText(
      'after',
      examples(
        'git fsmond query 0',
        "git fsmond query 'builtin:0.4242.20260101T000000.000000Z:3\\0'",
        "t=$(git fsmond query --raw 0 | tr '\\0' '\\n' | head -1); touch x; git fsmond query \"$t\"",
        'git fsmond query --raw builtin:1a2b:17 | xargs -0 -n1 echo',
      ),
    )
    .action(
      action(async (printed: string, opts: { raw?: boolean }, cmd: Command) => {
        const token = withoutShownNul(printed);
        if (REQUESTS.has(token)) {
          // The daemon would obey it as a request, not answer it as a token.
          throw new CliError(`'${token}' is a request, not a token`, EXIT.usage);
        }
        const repo = await repoOf(cmd);
        const answer = await request(repo, token);
        if (opts.raw) process.stdout.write(answer);
        else for (const line of readableAnswer(answer)) out(line);
        return 0;
      }),
    );

  worktreeCommand(
    program,
    'flush',
    {
      summary: 'start a new token epoch: every older token gets a full-rescan answer',
      description:
        'Start a new token epoch: the next git command gets "/" and rescans everything, as after ' +
        'a daemon restart. Prints the new token. For when you suspect a wrong answer.',
      examples: ['git fsmond flush && git status'],
    },
    async (repo) => {
      const answer = await request(repo, REQUEST.flush);
      const token = answer.subarray(0, Math.max(0, answer.indexOf(0))).toString('utf8');
      out(`flushed: new token ${token}`);
      return 0;
    },
  );
}
