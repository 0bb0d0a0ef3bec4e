export interface ProgressStream {
  isTTY?: boolean;
  write(s: string): unknown;
}

export interface ProgressOptions {
  now?: () => number;
  /** Nothing is shown for work that finishes sooner: no flicker on small trees. */
  delayMs?: number;
  /** The least time between two lines when the stream is not a terminal. */
  lineEveryMs?: number;
}

/**
 * Progress on stderr: one line rewritten in place on a terminal; otherwise plain lines, a few
 * seconds apart, so that a log or CI output gets no carriage returns or escape sequences.
 */
export class Progress {
  private readonly start: number;
  private lastLine = Number.NEGATIVE_INFINITY;
  private shown = false;
  private readonly now: () => number;
  private readonly delayMs: number;
  private readonly lineEveryMs: number;

  constructor(
    private readonly stream: ProgressStream,
    opts: ProgressOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
    this.start = this.now();
    this.delayMs = opts.delayMs ?? (stream.isTTY ? 300 : 2000);
    this.lineEveryMs = opts.lineEveryMs ?? 5000;
  }

  update(text: string): void {
    const t = this.now();
    if (t - this.start < this.delayMs) return;
    if (this.stream.isTTY) {
      this.stream.write(`\r\x1b[K${text}`);
    } else {
      if (t - this.lastLine < this.lineEveryMs) return;
      this.lastLine = t;
      this.stream.write(`${text}\n`);
    }
    this.shown = true;
  }

  /** Clears the terminal line, so that what follows starts clean. */
  done(): void {
    if (this.shown && this.stream.isTTY) this.stream.write('\r\x1b[K');
    this.shown = false;
  }
}
