import fs from 'node:fs';
import path from 'node:path';

interface Identity {
  dev: number;
  ino: number;
}

function identity(p: string): Identity | null {
  try {
    const st = fs.statSync(p);
    return { dev: st.dev, ino: st.ino };
  } catch {
    return null;
  }
}

export interface HealthOptions {
  worktree: string;
  gitDir: string;
  intervalMs: number;
  onGone: (reason: string) => void;
}

/**
 * A backstop for what inotify may not tell us: the worktree root or the git dir deleted,
 * renamed, replaced or unmounted (git's Linux daemon never notices a renamed root and then
 * answers `/` forever). Checking identities twice a second keeps the exit within 2 s.
 */
export function startHealthChecks(opts: HealthOptions): () => void {
  const watched: Array<[string, string, Identity | null]> = [
    ['worktree root', opts.worktree, identity(opts.worktree)],
    ['git dir', opts.gitDir, identity(opts.gitDir)],
    ['.git', path.join(opts.worktree, '.git'), identity(path.join(opts.worktree, '.git'))],
  ];
  const timer = setInterval(() => {
    for (const [what, p, before] of watched) {
      const now = identity(p);
      if (now === null) return stop(`${what} '${p}' was removed or renamed`);
      if (before && (now.dev !== before.dev || now.ino !== before.ino)) {
        return stop(`${what} '${p}' was replaced or unmounted`);
      }
    }
  }, opts.intervalMs);
  timer.unref();
  let stopped = false;
  function stop(reason: string) {
    if (stopped) return;
    stopped = true;
    clearInterval(timer);
    opts.onGone(reason);
  }
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}
