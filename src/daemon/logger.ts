import fs from 'node:fs';
import type { StateDir } from './state-dir.js';

export const LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type Level = (typeof LEVELS)[number];
const RANK: Record<Level, number> = { debug: 0, info: 1, warn: 2, error: 3 };

const { O_APPEND, O_CREAT } = fs.constants;

export interface LoggerOptions {
  /** Logs to `daemon.log` in this state dir (through its handle); null: only stderr, if enabled. */
  dir: StateDir | null;
  level: Level;
  /** The file is rotated to `<file>.1` beyond this size, so a chatty daemon cannot fill a disk. */
  maxBytes: number;
  toStderr: boolean;
}

/**
 * Opens the file for every line instead of holding it: an open file in the git dir would keep
 * its filesystem busy, and the worktree must stay unmountable while the daemon runs. Lines are
 * rare (queries log at debug level only).
 */
export class Logger {
  /**
   * Only the first line and a rotation may create the file. A log that vanished later went
   * with its directory (`rm -rf` of the worktree in progress): re-creating it would put a new
   * entry into a directory being removed and make that `rm` fail with "not empty".
   */
  private created = false;

  constructor(private readonly opts: LoggerOptions) {}

  readonly log = (level: Level, msg: string): void => {
    if (RANK[level] < RANK[this.opts.level]) return;
    const line = format(level, msg);
    if (this.opts.toStderr) process.stderr.write(line);
    this.write(line);
  };

  /** To the file only: for a refusal the CLI prints itself (one line, not two). */
  readonly toFile = (level: Level, msg: string): void => {
    if (RANK[level] >= RANK[this.opts.level]) this.write(format(level, msg));
  };

  /** GIT_TRACE_FSMONITOR lines when it names stderr: at any level, one write for them all. */
  readonly trace = (msgs: readonly string[]): void => {
    const text = msgs.map((m) => format('trace', m)).join('');
    if (this.opts.toStderr) process.stderr.write(text);
    this.write(text);
  };

  /** The git dir was renamed under us: the last lines go where it is now. */
  moveTo(gitDir: string): void {
    this.opts.dir?.follow(gitDir);
  }

  private write(line: string): void {
    if (!this.opts.dir) return;
    try {
      // Resolved for every line: without /proc this re-checks that `fsmond` is still ours.
      const dir = this.opts.dir;
      let { fd, st } = dir.openForWrite('log', this.created ? O_APPEND : O_APPEND | O_CREAT);
      this.created = true;
      // Several daemons may share the file for a moment (a race to start): the size on disk,
      // not a count of our own writes, decides.
      if (st.size > 0 && st.size + line.length > this.opts.maxBytes) {
        fs.closeSync(fd);
        const file = dir.file('log');
        fs.renameSync(file, `${file}.1`);
        ({ fd } = dir.openForWrite('log', O_APPEND | O_CREAT));
      } else if ((st.mode & 0o077) !== 0) {
        fs.fchmodSync(fd, 0o600);
      }
      try {
        fs.writeSync(fd, line);
      } finally {
        fs.closeSync(fd);
      }
    } catch {
      // A log that cannot be written must never take the daemon down.
    }
  }
}

function format(level: Level | 'trace', msg: string): string {
  return `${new Date().toISOString()} ${process.pid} ${level}: ${msg}\n`;
}
