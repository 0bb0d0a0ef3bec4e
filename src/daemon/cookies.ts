import fs from 'node:fs';
import path from 'node:path';

/**
 * The cookie handshake: a query creates and deletes a unique file in a watched directory and
 * answers only once the watcher reports that file. The kernel queues one inotify instance's
 * events in order, so by then every change made before the query has been read and recorded.
 */
export class CookieSync {
  private next = 0;
  private readonly waiting = new Map<string, (seen: boolean) => void>();

  constructor(
    private readonly dir: string,
    private readonly timeoutMs: number,
    /** Called when the cookie directory had to be re-created (so it gets watched again). */
    private readonly onRecreated: () => void,
  ) {}

  /** Resolves true once the watcher has delivered this query's cookie, false otherwise. */
  sync(): Promise<boolean> {
    const name = `${process.pid}-${this.next++}`;
    const file = path.join(this.dir, name);
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => finish(false), this.timeoutMs);
      const finish = (seen: boolean) => {
        clearTimeout(timer);
        this.waiting.delete(name);
        resolve(seen);
      };
      this.waiting.set(name, finish);
      if (!this.touch(file)) finish(false);
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

  private touch(file: string): boolean {
    try {
      fs.closeSync(fs.openSync(file, 'wx', 0o600));
      fs.unlinkSync(file);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        try {
          // One level at a time, never the git dir itself: after `mv .git elsewhere` a
          // recursive mkdir would plant an empty `.git` in the worktree.
          for (const d of [path.dirname(this.dir), this.dir]) {
            try {
              fs.mkdirSync(d, { mode: 0o700 });
            } catch (e) {
              if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
            }
          }
          this.onRecreated();
        } catch {
          // The git dir itself is gone; health checks will stop the daemon.
        }
      }
      return false;
    }
  }
}
