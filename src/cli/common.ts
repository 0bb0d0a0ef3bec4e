import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { discoverRepo, RepoError, type RepoInfo } from '../git/index.js';

/** The documented exit codes (README "Exit codes", `git fsmond help`). */
export const EXIT = {
  ok: 0,
  /** A failure, or a negative answer: not watching, a doctor check failed. */
  failure: 1,
  usage: 2,
  /** A bug: an error nobody anticipated (EX_SOFTWARE). */
  internal: 70,
} as const;

/** A failure the CLI reports as one line and a non-zero exit. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.failure,
  ) {
    super(message);
  }
}

import { PACKAGE_ROOT } from '../contract/index.js';

export { PACKAGE_ROOT };
export const LAUNCHER = path.join(PACKAGE_ROOT, 'bin', 'git-fsmond');

export const out = (s: string) => process.stdout.write(`${s}\n`);
/** Side remarks go to stderr, so that stdout stays the answer to what was asked. */
export const note = (s: string) => process.stderr.write(`note: ${s}\n`);

interface Globals {
  C?: string;
}

/** The directory the command is about: `-C <dir>` (relative to the cwd, like git's) or the cwd. */
export function dirOf(cmd: Command): string {
  const dir = path.resolve((cmd.optsWithGlobals() as Globals).C ?? '.');
  // Checked here: git run in a missing cwd fails like a missing git (ENOENT either way).
  if (!fs.existsSync(dir)) throw new CliError(`no such directory: '${dir}'`);
  return dir;
}

export function repoOf(cmd: Command): Promise<RepoInfo> {
  return discoverRepo(dirOf(cmd));
}

/** Wraps an action so that every failure is one line on stderr and a non-zero exit. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<number | undefined>) {
  return async (...args: A) => {
    try {
      process.exitCode = (await fn(...args)) ?? EXIT.ok;
    } catch (err) {
      process.exitCode = reportError(err);
    }
  };
}

export function reportError(err: unknown): number {
  if (err instanceof CliError || err instanceof RepoError) {
    process.stderr.write(`git-fsmond: ${err.message}\n`);
    return err instanceof CliError ? err.exitCode : EXIT.failure;
  }
  const e = err instanceof Error ? err : new Error(String(err));
  // Still one line; the stack is there for whoever reports the bug.
  const detail = process.env.GIT_FSMOND_DEBUG
    ? `\n${e.stack}`
    : ' (GIT_FSMOND_DEBUG=1 shows where)';
  process.stderr.write(`git-fsmond: internal error: ${e.message.split('\n')[0]}${detail}\n`);
  return EXIT.internal;
}

/** The "Examples:" block every command's --help ends with. */
export function examples(...lines: string[]): string {
  return `\nExamples:\n${lines.map((l) => `  ${l}`).join('\n')}`;
}

export interface CommandHelp {
  summary: string;
  description: string;
  examples: string[];
}

/**
 * A command that acts on the worktree it runs in: the help every command has, and an action
 * that gets the discovered repository. Options can still be chained on the result.
 */
export function worktreeCommand<O>(
  program: Command,
  name: string,
  help: CommandHelp,
  run: (repo: RepoInfo, opts: O) => Promise<number | undefined>,
): Command {
  return program
    .command(name)
    .summary(help.summary)
    .description(help.description)
    .addHelpText('after', examples(...help.examples))
    .action(action(async (opts: O, cmd: Command) => run(await repoOf(cmd), opts)));
}
