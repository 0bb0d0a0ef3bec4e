import fs from 'node:fs';
import path from 'node:path';
import type { StateDir } from './state-dir.js';

/**
 * The cookie handshake: a query creates and deletes a unique file in a watched directory and
 * answers only once the watcher reports that file. The kernel queues one inotify instance's
 * events in order, so by then every change made before the query has been read and recorded.
 */
export class CookieSync {
  private next = 0;
  private readonly waiting = new Map<string, (seen: boolean) => void>();

  constructor(
    /** Cookies go to its cookie dir, reached through the handle, never by name. */
    private readonly stateDir: StateDir,
    private readonly timeoutMs: number,
    /** Called when the cookie directory had to be re-created (so it gets watched again). */
    private readonly onRecreated: () => void,
    /** The state directory itself was removed: no cookie can ever be seen again. */
    private readonly onStateDirGone: () => void = () => {},
  ) {}

  /** Resolves true once the watcher has delivered this query's cookie, false otherwise. */
  sync(): Promise<boolean> {
    const name = `${process.pid}-${this.next++}`;
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => finish(false), this.timeoutMs);
      const finish = (seen: boolean) => {
        clearTimeout(timer);
        this.waiting.delete(name);
        resolve(seen);
      };
      this.waiting.set(name, finish);
      if (!this.touch(name)) finish(false);
    });
  }

  /** The watcher saw these cookie names. */
  seen(names: readonly string[]): void {
    for (const n of names) this.waiting.get(n)?.(true);
  }

  /** Completeness was lost: nobody may trust an answer that is still waiting. */
  abortAll(): void {
    for (const finish of [...this.waiting.values()]) finish(false);
  }

  get pending(): number {
    return this.waiting.size;
  }

  private touch(name: string): boolean {
    try {
      const file = path.join(this.stateDir.file('cookieDir'), name);
      fs.closeSync(fs.openSync(file, 'wx', 0o600));
      fs.unlinkSync(file);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return false;
      // Only the cookie dir is re-created, inside the directory the handle holds: never the
      // state dir or the git dir by name (after `mv .git elsewhere` that would plant an
      // empty `.git` in the worktree, after a swap it would write through the symlink).
      if (!this.stateDir.present) {
        this.onStateDirGone();
        return false;
      }
      try {
        this.stateDir.ownSubdir('cookieDir');
        this.onRecreated();
      } catch {
        // Not ours to use any more: queries answer `/` until the daemon stops.
      }
      return false;
    }
  }
}
