import fs from 'node:fs';

export type Level = 'debug' | 'info' | 'warn' | 'error';
const RANK: Record<Level, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export interface LoggerOptions {
  /** Log file; null logs nowhere but stderr (when enabled). */
  file: string | null;
  level: Level;
  /** The file is rotated to `<file>.1` beyond this size, so a chatty daemon cannot fill a disk. */
  maxBytes: number;
  toStderr: boolean;
}

export class Logger {
  private size = 0;

  constructor(private readonly opts: LoggerOptions) {
    if (opts.file) {
      try {
        this.size = fs.statSync(opts.file).size;
      } catch {
        this.size = 0;
      }
    }
  }

  readonly log = (level: Level, msg: string): void => {
    if (RANK[level] < RANK[this.opts.level]) return;
    const line = `${new Date().toISOString()} ${process.pid} ${level}: ${msg}\n`;
    if (this.opts.toStderr) process.stderr.write(line);
    if (!this.opts.file) return;
    try {
      if (this.size + line.length > this.opts.maxBytes) this.rotate();
      fs.appendFileSync(this.opts.file, line, { mode: 0o600 });
      this.size += line.length;
    } catch {
      // A log that cannot be written must never take the daemon down.
    }
  };

  private rotate(): void {
    const file = this.opts.file!;
    try {
      fs.renameSync(file, `${file}.1`);
    } catch {
      fs.rmSync(file, { force: true });
    }
    this.size = 0;
  }
}

export function parseLevel(value: string | undefined): Level {
  const v = value?.toLowerCase();
  return v === 'debug' || v === 'warn' || v === 'error' ? v : 'info';
}
