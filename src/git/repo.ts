import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { identityOf, sameFile } from '../sys/identity.js';

const run = promisify(execFile);

export type RepoErrorCode =
  | 'not-a-repo'
  | 'bare'
  | 'remote'
  | 'git-missing'
  /** The git dir cannot hold the socket, and no usable fsmonitor.socketDir either. */
  | 'nosockets'
  /** A symlink or a foreign file where the daemon's own files go. */
  | 'unsafe'
  /** The directory git takes as the worktree is not the git dir's own (GIT_DIR from elsewhere). */
  | 'foreign-worktree'
  /** The git dir belongs to another user than the one running us. */
  | 'foreign';

/** A refusal or failure the CLI prints as one line. */
export class RepoError extends Error {
  /** The git dir, when one was found: where a daemon records a lasting refusal. */
  readonly gitDir: string | undefined;
  constructor(
    message: string,
    readonly code: RepoErrorCode,
    opts: { gitDir?: string } = {},
  ) {
    super(message);
    this.gitDir = opts.gitDir;
  }
}

export interface RepoInfo {
  /** Absolute worktree root. */
  worktree: string;
  /** Absolute git dir of this worktree (`.git`, or `<common>/worktrees/<name>` when linked). */
  gitDir: string;
  /** Absolute common dir (shared by linked worktrees). */
  commonDir: string;
  /** True when `.git` in the worktree is a file (linked worktree or absorbed submodule). */
  gitDirIsExternal: boolean;
}

async function git(cwd: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await run('git', args, {
      cwd,
      encoding: 'utf8',
      maxBuffer: 1 << 20,
      // A git stuck on a dead network mount must not keep a daemon half-started forever.
      timeout: 60_000,
      killSignal: 'SIGKILL',
    });
    return stdout;
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    // spawn says ENOENT both for a missing git and for a missing cwd: tell them apart.
    if (e.code === 'ENOENT' && !fs.existsSync(cwd)) {
      throw new RepoError(`no such directory: '${cwd}'`, 'not-a-repo');
    }
    if (e.code === 'ENOENT') throw new RepoError('git is not installed', 'git-missing');
    throw e;
  }
}

/** git prints one path per line, and a path may hold newlines: only the last one is git's. */
function onePath(out: string): string {
  return out.endsWith('\n') ? out.slice(0, -1) : out;
}

/** What git said on stderr when it refused the directory, if it is worth repeating. */
function gitRefusal(err: unknown): string | null {
  const stderr = String((err as { stderr?: unknown }).stderr ?? '');
  const fatal = /^fatal: (detected dubious ownership .*)$/m.exec(stderr);
  if (!fatal) return null;
  const fix = /^\s*(git config --global --add safe\.directory .*)$/m.exec(stderr);
  return fix ? `${fatal[1]}; to allow it: ${fix[1]}` : fatal[1]!;
}

/** Finds the worktree and git dirs for `dir`, refusing bare repositories and non-repositories. */
export async function discoverRepo(dir: string): Promise<RepoInfo> {
  const abs = path.resolve(dir);
  // All at once: a daemon's start waits for them, and each git costs a process start (tens of
  // ms here). The later ones matter only once the first has said this is a worktree.
  const first = git(abs, ['rev-parse', '--is-bare-repository', '--absolute-git-dir']);
  const rest = Promise.all([
    git(abs, ['rev-parse', '--git-common-dir']).then(onePath),
    git(abs, ['rev-parse', '--show-toplevel']).then(onePath, () => null),
    git(abs, ['config', '--local', '-z', '--get', 'core.worktree']).then(
      (v) => v.replace(/\0$/, ''),
      () => null,
    ),
  ]);
  rest.catch(() => {}); // awaited below unless the first call refuses
  let out: string;
  try {
    // The flag's line has no newline of its own, so whatever follows it is the git dir.
    out = await first;
  } catch (err) {
    if (err instanceof RepoError) throw err;
    throw new RepoError(gitRefusal(err) ?? `not a git repository: '${abs}'`, 'not-a-repo');
  }
  const nl = out.indexOf('\n');
  const gitDir = onePath(out.slice(nl + 1));
  if (out.slice(0, nl) === 'true') {
    throw new RepoError(`bare repository '${abs}' is incompatible with fsmonitor`, 'bare', {
      gitDir: gitDir || undefined,
    });
  }
  const [common, top, coreWorktree] = await rest;
  if (top === null) {
    throw new RepoError(`'${abs}' is inside a git dir, not a worktree`, 'not-a-repo');
  }
  if (!top) throw new RepoError(`'${abs}' has no worktree`, 'not-a-repo');
  if (!isOwnWorktree(top, gitDir, coreWorktree)) {
    throw new RepoError(
      `'${top}' is not the worktree of git dir '${gitDir}' (GIT_DIR or --git-dir from another directory?); run git-fsmond in that git dir's own worktree`,
      'foreign-worktree',
    );
  }
  return {
    worktree: top,
    gitDir,
    commonDir: path.resolve(abs, common),
    gitDirIsExternal: gitDir !== path.join(top, '.git'),
  };
}

/**
 * Whether `top` is the worktree the git dir itself names: its `core.worktree`, the worktree
 * a linked worktree's `<gitdir>/gitdir` points into, or the directory whose `.git` is the git
 * dir (or a `gitdir:` file naming it). git run with `GIT_DIR` set from another directory takes
 * that directory as its worktree; a daemon watching it on the git dir's socket would answer
 * the git dir's own commands for the wrong tree.
 */
function isOwnWorktree(top: string, gitDir: string, coreWorktree: string | null): boolean {
  const here = identityOf(top);
  if (coreWorktree) return sameFile(here, identityOf(path.resolve(gitDir, coreWorktree)));
  const linked = readLine(path.join(gitDir, 'gitdir'));
  if (linked && sameFile(here, identityOf(path.dirname(path.resolve(gitDir, linked))))) {
    return true;
  }
  const dotGit = path.join(top, '.git');
  const target = readLine(dotGit)?.match(/^gitdir: (.+)$/s)?.[1];
  return sameFile(identityOf(target ? path.resolve(top, target) : dotGit), identityOf(gitDir));
}

/** A file's content without its one trailing newline, or null (missing, a directory, ...). */
function readLine(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  } catch {
    return null;
  }
}

/** Reads every `fsmond.*`, `fsmonitor.*` and `core.*` key (lower-cased names, last value wins). */
export async function readConfig(worktree: string): Promise<Map<string, string>> {
  const map = new Map<string, string>();
  let out = '';
  try {
    out = await git(worktree, ['config', '-z', '--get-regexp', '^(fsmond|fsmonitor|core)\\.']);
  } catch {
    return map; // exit 1 means "no such keys"
  }
  for (const entry of out.split('\0')) {
    if (!entry) continue;
    const nl = entry.indexOf('\n');
    const key = (nl < 0 ? entry : entry.slice(0, nl)).toLowerCase();
    map.set(key, nl < 0 ? 'true' : entry.slice(nl + 1));
  }
  return map;
}
