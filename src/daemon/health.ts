import fs from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT, packageVersion } from '../contract/index.js';
import { type FileIdentity, identityOf, sameFile } from '../sys/identity.js';

export interface HealthOptions {
  worktree: string;
  gitDir: string;
  /** Asked before each check, so that an idle daemon can look less often. */
  intervalMs: () => number;
  /** Run with every check: what else only polling can tell (say, our socket taken). */
  alsoCheck?: () => void;
  onGone: (reason: string) => void;
}

export interface Health {
  /** Checks now; the reason the daemon must stop, or null. */
  check(): string | null;
  stop(): void;
  /** Where the git dir is now, if it was only renamed (so the last log lines reach it). */
  findGitDir(): string | null;
}

/**
 * A backstop for what inotify may not tell us: the worktree root or the git dir deleted,
 * renamed, replaced or unmounted (git's Linux daemon never notices a renamed root and then
 * answers `/` forever). Checking identities twice a second keeps the exit within 2 s.
 */
export function startHealthChecks(opts: HealthOptions): Health {
  const dotGit = path.join(opts.worktree, '.git');
  const ids = {
    root: identityOf(opts.worktree),
    gitDir: identityOf(opts.gitDir),
  };
  const watched: Array<[string, string, FileIdentity | null]> = [
    ['worktree root', opts.worktree, ids.root],
    ['git dir', opts.gitDir, ids.gitDir],
    ['.git', dotGit, identityOf(dotGit)],
  ];
  let stopped = false;
  const packageChanged = watchPackage(PACKAGE_ROOT, packageVersion());
  const check = (): string | null => {
    for (const [what, p, before] of watched) {
      const now = identityOf(p);
      if (now === null) return `${what} '${p}' was removed or renamed`;
      if (before && !sameFile(now, before)) {
        return `${what} '${p}' was replaced or unmounted`;
      }
    }
    return packageChanged();
  };
  let timer: NodeJS.Timeout;
  const tick = () => {
    if (stopped) return;
    opts.alsoCheck?.();
    const reason = check();
    if (reason === null) return schedule();
    stopped = true;
    opts.onGone(reason);
  };
  const schedule = () => {
    timer = setTimeout(tick, opts.intervalMs());
    timer.unref();
  };
  schedule();
  return {
    check,
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
    findGitDir: () => {
      if (!ids.gitDir) return null;
      if (sameFile(identityOf(opts.gitDir), ids.gitDir)) return opts.gitDir;
      // `mv .git x`, or a linked worktree's git dir renamed beside itself.
      const beside = findIn(path.dirname(opts.gitDir), ids.gitDir);
      if (beside) return beside;
      // The whole worktree renamed, with its `.git` inside.
      const rel = path.relative(opts.worktree, opts.gitDir);
      if (!ids.root || rel.startsWith('..') || path.isAbsolute(rel)) return null;
      const root = findIn(path.dirname(opts.worktree), ids.root);
      const moved = root && path.join(root, rel);
      return moved && sameFile(identityOf(moved), ids.gitDir) ? moved : null;
    },
  };
}

/** A renamed directory is usually still beside its old name: look there, and only there. */
function findIn(dir: string, id: FileIdentity): string | null {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return null;
  }
  for (const name of names.slice(0, 10_000)) {
    const p = path.join(dir, name);
    if (sameFile(identityOf(p), id)) return p;
  }
  return null;
}

/**
 * npm runs no script of ours on uninstall or upgrade, so a daemon must notice by itself that
 * its package is gone or was replaced, or it keeps serving with code that no longer exists on
 * disk (a module it loads later would be missing, or of another version). Returns a check:
 * why to exit, or null. It reads package.json only when its stat changes.
 */
export function watchPackage(root: string, running: string): () => string | null {
  const file = path.join(root, 'package.json');
  const stamp = (st: fs.Stats) => `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
  let seen: string | null = null;
  try {
    seen = stamp(fs.statSync(file));
  } catch {
    // not readable even now: nothing to compare with, so nothing to report later
    return () => null;
  }
  return () => {
    let st: fs.Stats;
    try {
      st = fs.statSync(file);
    } catch {
      return `git-fsmond ${running} was uninstalled: '${file}' is gone`;
    }
    if (stamp(st) === seen) return null;
    let version: unknown;
    try {
      version = JSON.parse(fs.readFileSync(file, 'utf8')).version;
    } catch {
      return null; // being written: look again at the next check
    }
    seen = stamp(st);
    return version === running ? null : `git-fsmond ${version} was installed over ${running}`;
  };
}
