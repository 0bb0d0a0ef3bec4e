/** `status`, `query` and `flush`: what the running daemon says. */
import type { Command } from 'commander';
import { REQUEST } from '../contract/index.js';
import type { RepoInfo } from '../git/index.js';
import { action, CliError, EXIT, examples, out, repoOf } from './common.js';
import { gitConfigGet, monitorKind } from './config.js';
import { type DaemonStatus, fetchStatus, isListening, lastRefusal, request } from './control.js';
import { duration, megabytes, readableAnswer } from './format.js';

/** The `status --json` document: the same keys whether or not a daemon runs. */
async function statusDocument(repo: RepoInfo, s: DaemonStatus | null) {
  const hook = await gitConfigGet(repo.worktree, null, 'core.fsmonitor');
  const { pid, watching, ...rest }: Record<string, unknown> = s ?? {};
  return {
    running: s !== null,
    watching: watching === true,
    pid: pid ?? null,
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
    /** With no daemon running: why the last start was refused, if it was. */
    lastError: rest.lastError ?? (s ? null : lastRefusal(repo)),
    ...rest,
  };
}

function humanStatus(doc: Awaited<ReturnType<typeof statusDocument>>): string[] {
  if (!doc.running) {
    const enabled = doc.shim === 'c' || doc.shim === 'node';
    const why = doc.lastError
      ? `the daemon refused to start: ${doc.lastError}`
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

export function addInspectCommands(program: Command): void {
  program
    .command('status')
    .summary('say whether a daemon watches this worktree')
    .description(
      'Say whether a daemon watches this worktree. Exit status 0 when it is watching; 1 when ' +
        'no daemon runs or it is still registering its watches.\n\n' +
        '--json keys: running, watching, pid, worktree, gitDir, token, uptimeMs, ' +
        'watchedDirectories, events, queries, lastAnswerMs, rssBytes, backend, shim (c, node, ' +
        'ipc, none or other), shimPath, lastError (with no daemon running: why its last start was ' +
        'refused), and whatever else the daemon reports. They are all present (null) when no ' +
        'daemon runs.',
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
        const s = await fetchStatus(repo);
        if (!s && (await isListening(repo))) {
          throw new CliError(`the daemon for '${repo.worktree}' listens but does not answer`);
        }
        const doc = await statusDocument(repo, s);
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
        'token, such as "0", gets "/" and a fresh token to ask with next time.',
    )
    .option('--raw', 'print the answer bytes unchanged, NULs included')
    .addHelpText(
      'after',
      examples(
        'git fsmond query 0',
        "t=$(git fsmond query --raw 0 | tr '\\0' '\\n' | head -1); touch x; git fsmond query \"$t\"",
        'git fsmond query --raw builtin:1a2b:17 | xargs -0 -n1 echo',
      ),
    )
    .action(
      action(async (token: string, opts: { raw?: boolean }, cmd: Command) => {
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

  program
    .command('flush')
    .summary('start a new token epoch: every older token gets a full-rescan answer')
    .description(
      'Start a new token epoch: the next git command gets "/" and rescans everything, as after ' +
        'a daemon restart. Prints the new token. For when you suspect a wrong answer.',
    )
    .addHelpText('after', examples('git fsmond flush && git status'))
    .action(
      action(async (_o: unknown, cmd: Command) => {
        const repo = await repoOf(cmd);
        const answer = await request(repo, REQUEST.flush);
        const token = answer.subarray(0, Math.max(0, answer.indexOf(0))).toString('utf8');
        out(`flushed: new token ${token}`);
        return 0;
      }),
    );
}
