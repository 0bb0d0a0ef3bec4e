/**
 * The promise a backend's start() hands out: made by the first call, which alone begins the
 * work; settled once, when the watcher is first ready, dies before that, or is closed.
 */
export class StartPromise {
  private promise: Promise<void> | null = null;
  private resolve: (() => void) | null = null;
  private reject: ((err: Error) => void) | null = null;

  /** Made and not settled yet: a fatal error now is the start's failure, not onFatal. */
  get pending(): boolean {
    return this.reject !== null;
  }

  /** `begin` runs on the first call only, once the promise exists and can be settled. */
  get(begin: () => void): Promise<void> {
    if (!this.promise) {
      this.promise = new Promise<void>((resolve, reject) => {
        this.resolve = resolve;
        this.reject = reject;
      });
      // A caller that drops the promise must not get an unhandled rejection on close().
      this.promise.catch(() => {});
      begin();
    }
    return this.promise;
  }

  settle(err?: Error): void {
    const resolve = this.resolve;
    const reject = this.reject;
    this.resolve = null;
    this.reject = null;
    if (err) reject?.(err);
    else resolve?.();
  }
}
