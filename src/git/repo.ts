import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

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

/** Finds the worktree and git dirs for `dir`, refusing bare repositories and non-repositories. */
export async function discoverRepo(dir: string): Promise<RepoInfo> {
  const abs = path.resolve(dir);
  let out: string;
  try {
    out = await git(abs, [
      'rev-parse',
      '--is-bare-repository',
      '--absolute-git-dir',
      '--git-common-dir',
    ]);
  } catch (err) {
    if (err instanceof RepoError) throw err;
    throw new RepoError(`not a git repository: '${abs}'`, 'not-a-repo');
  }
  const [bare, gitDir, common] = out.split('\n');
  if (bare === 'true') {
    throw new RepoError(`bare repository '${abs}' is incompatible with fsmonitor`, 'bare', {
      gitDir: gitDir || undefined,
    });
  }
  let top: string;
  try {
    top = (await git(abs, ['rev-parse', '--show-toplevel'])).trim();
  } catch {
    throw new RepoError(`'${abs}' is inside a git dir, not a worktree`, 'not-a-repo');
  }
  if (!top) throw new RepoError(`'${abs}' has no worktree`, 'not-a-repo');
  const absGitDir = gitDir!;
  return {
    worktree: top,
    gitDir: absGitDir,
    commonDir: path.resolve(abs, common!),
    gitDirIsExternal: absGitDir !== path.join(top, '.git'),
  };
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
