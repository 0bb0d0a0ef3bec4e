/**
 * A second process for a big full scan. The daemon runs interpreted (--jitless, for its
 * memory) on one core while the other idles, and half of a 1M-file scan is getdents(2) and
 * decoding its records. The helper does that part: the daemon watches a directory, sends its
 * path, and gets its subdirectories back (scan-child.ts); every inotify_add_watch stays in the
 * daemon, on its one instance (two processes adding watches to one instance serialize on its
 * lock: measured, no faster than one).
 *
 * A separate process rather than a worker thread: a worker that has loaded koffi leaves ~6 MB
 * in the daemon's RSS after it ends; a process leaves nothing, and it runs with the JIT.
 *
 * Anything wrong with the helper (it cannot start, dies, sends garbage, stops answering)
 * costs only speed: the scan lists what it had not answered itself (full-scan.ts).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { BUILD_DIR } from '../contract/index.js';
import { FROM_HELPER, LIST, WireReader, WireWriter } from './scan-wire.js';

export const HELPER_SCRIPT = path.join(BUILD_DIR, 'watch', 'scan-child.js');

/** Kept of the helper's stderr for the log line when it fails. */
const STDERR_KEEP = 500;

export interface HelperCallbacks {
  /**
   * One `dir` message, buf[from, to), applied at once as it is read: nothing waits in the
   * daemon (a backlog of answers would be promoted out of the young generation and stay in
   * its RSS), and a slow daemon leaves the helper's output in the pipe.
   */
  onAnswer(buf: Buffer, from: number, to: number): void;
  /** After each batch of answers, and when the helper fails. */
  onActivity(): void;
}

export class ScanHelper {
  ready = false;
  /** Why it is of no more use, once it is not. */
  failed: string | null = null;
  private readonly child: ChildProcess;
  private readonly reader = new WireReader();
  private readonly out = new WireWriter();
  private stderr = '';
  private closed = false;

  constructor(
    private readonly calls: HelperCallbacks,
    script: string = HELPER_SCRIPT,
  ) {
    // Without the daemon's NODE_OPTIONS: --jitless would halve its speed, and it lives for
    // one scan, so its memory does not matter.
    const env = { ...process.env };
    delete env.NODE_OPTIONS;
    this.child = spawn(process.execPath, [script], { stdio: 'pipe', env });
    this.child.on('error', (err) => this.fail(`cannot run ${process.execPath}: ${err.message}`));
    // 'close', not 'exit': every byte it wrote has been read by then.
    this.child.on('close', (code, signal) => this.fail(`exited (${signal ?? `code ${code}`})`));
    this.child.stdin!.on('error', () => {
      // EPIPE once it is gone; 'close' says so.
    });
    this.child.stdout!.on('data', (chunk: Buffer) => this.onData(chunk));
    this.child.stderr!.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString('utf8')).slice(-STDERR_KEEP);
    });
  }

  /** Ask for the listing of watched directory `wd` at absolute path src[from, to). */
  list(wd: number, ticket: number, src: Buffer, from: number, to: number): void {
    if (this.out.size === 0) this.out.begin(LIST);
    this.out.listItem(wd, ticket, src, from, to);
  }

  /** Send what list() queued. */
  flush(): void {
    if (this.out.size === 0) return;
    const msg = this.out.end().take();
    if (!this.failed && !this.closed) this.child.stdin!.write(msg);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    // Its listeners stay (they do nothing once closed): an 'error' with none would throw.
    this.child.kill('SIGKILL');
  }

  /** Give up on it (it stopped answering): the scan takes its work back. */
  fail(why: string): void {
    if (this.closed || this.failed) return;
    const tail = this.stderr.trim().split('\n').pop();
    this.failed = tail ? `${why}: ${tail}` : why;
    this.close();
    this.calls.onActivity();
  }

  private onData(chunk: Buffer): void {
    if (this.failed || this.closed) return;
    const r = this.reader;
    r.push(chunk);
    while (r.next()) {
      if (r.kind === FROM_HELPER.dir) this.calls.onAnswer(r.bytes, r.from, r.to);
      else if (r.kind === FROM_HELPER.ready) this.ready = true;
      else this.fail(`sent a message of unknown kind ${r.kind}`);
      if (this.failed || this.closed) return;
    }
    this.calls.onActivity();
  }
}
