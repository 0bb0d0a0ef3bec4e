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
  const pkg = watchPackage(PACKAGE_ROOT, packageVersion());
  const check = (): string | null => {
    for (const [what, p, before] of watched) {
      const now = identityOf(p);
      if (now === null) return `${what} '${p}' was removed or renamed`;
      if (before && !sameFile(now, before)) {
        return `${what} '${p}' was replaced or unmounted`;
      }
    }
    return pkg.check();
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
    const ms = opts.intervalMs();
    timer = setTimeout(tick, pkg.settling() ? Math.min(ms, PACKAGE_POLL_MS) : ms);
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

/** How often a package change that has not settled yet is looked at again. */
const PACKAGE_POLL_MS = 500;

/**
 * npm upgrades by removing the package, extracting the new one and writing its package.json
 * last: 2.5 s without one here. Only an absence this long is an uninstall.
 */
export const PACKAGE_GONE_MS = 10_000;

/** A changed package must look the same for this long before the daemon acts on it. */
export const PACKAGE_SETTLE_MS = 2_000;

export interface PackageWatch {
  /** Why the daemon must exit (its package is gone, or another version), or null. */
  check(): string | null;
  /** A change is being watched until it settles: look again soon. */
  settling(): boolean;
}

/**
 * npm runs no script of ours on uninstall or upgrade, so a daemon must notice by itself that
 * its package is gone or was replaced, or it keeps serving with code that no longer exists on
 * disk. It acts only once the change has settled: npm swaps the directory and then extracts
 * the new files and the dependencies, and a daemon that exited in the middle would be replaced,
 * by the next git command, with one that dies on a missing module (and such a death makes the
 * shims rescan for a minute without starting another). Meanwhile the old daemon, loaded in
 * memory, answers as before. Reads package.json only when its stat changes.
 */
export function watchPackage(root: string, running: string, now = Date.now): PackageWatch {
  const file = path.join(root, 'package.json');
  const state = () => {
    try {
      const st = fs.statSync(file);
      return `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
    } catch {
      return 'gone';
    }
  };
  let seen = state();
  let pending: { state: string; since: number } | null = null;
  if (seen === 'gone') return { check: () => null, settling: () => false }; // nothing to compare
  const verdict = (): string | null | 'unsettled' => {
    if (pending!.state === 'gone')
      return `git-fsmond ${running} was uninstalled: '${file}' is gone`;
    let pkg: { version?: unknown; dependencies?: Record<string, string> };
    try {
      pkg = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch {
      return 'unsettled'; // being written
    }
    if (pkg.version === running) return null;
    return complete(root, pkg.dependencies ?? {})
      ? `git-fsmond ${pkg.version} was installed over ${running}`
      : 'unsettled';
  };
  return {
    settling: () => pending !== null,
    check: () => {
      const current = state();
      if (current === seen) {
        pending = null;
        return null;
      }
      if (pending?.state !== current) pending = { state: current, since: now() };
      const settle = current === 'gone' ? PACKAGE_GONE_MS : PACKAGE_SETTLE_MS;
      if (now() - pending.since < settle) return null;
      const v = verdict();
      if (v === 'unsettled') {
        pending = { state: current, since: now() };
        return null;
      }
      if (v === null) {
        seen = current; // rewritten, same version
        pending = null;
      }
      return v;
    },
  };
}

/** The new package can start a daemon: its entry points and each dependency are in place. */
function complete(root: string, deps: Record<string, string>): boolean {
  const need = ['bin/git-fsmond', 'dist/src/cli/main.js', 'dist/src/daemon/index.js'];
  if (!need.every((f) => fs.existsSync(path.join(root, f)))) return false;
  // Where Node looks for a bare import (exports maps may hide a dependency's package.json).
  const dirs: string[] = [];
  for (let d = root; ; d = path.dirname(d)) {
    dirs.push(path.join(d, 'node_modules'));
    if (path.dirname(d) === d) break;
  }
  return Object.keys(deps).every((dep) =>
    dirs.some((d) => fs.existsSync(path.join(d, dep, 'package.json'))),
  );
}
