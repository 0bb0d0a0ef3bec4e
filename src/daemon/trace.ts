/**
 * GIT_TRACE_FSMONITOR for our daemon: the lines git's builtin daemon writes there (the same
 * wording, at the same moments: `event: <path>` for every path that enters the change log,
 * `requested token:` and `response token:` per request, `Watching: worktree '<path>'` at the
 * start), so that the debugging recipes for git's daemon, and git's own t7527, work with ours.
 */
import fs from 'node:fs';
import { wallClockUs } from '../sys/clock.js';
import { parseBool } from './settings.js';

/** Where the lines go, as git's trace.c reads the variable. */
export type TraceTarget =
  /** `1`, `2` or `true`: git's stderr; a detached daemon's stderr is its log, so the log. */
  | { kind: 'log' }
  | { kind: 'file'; path: string }
  /** Anything else git warns about and ignores (a relative path, an fd other than 2). */
  | { kind: 'invalid'; value: string };

/** null: no tracing (unset, empty, `0`, `false`). */
export function traceTargetOf(value: string | undefined): TraceTarget | null {
  if (value === undefined || parseBool(value) === false) return null;
  if (value === '1' || value === '2' || value.toLowerCase() === 'true') return { kind: 'log' };
  if (value.startsWith('/')) return { kind: 'file', path: value };
  return { kind: 'invalid', value };
}

/** What the environment asked for, read before the daemon clears git's variables. */
export interface TraceRequest {
  /** GIT_TRACE_FSMONITOR when set (it wins over fsmond.trace, even as `0`). */
  env: string | undefined;
  /** GIT_TRACE_BARE: no time prefix (git's test suite sets it). */
  bare: boolean;
}

export function takeTraceRequest(env: NodeJS.ProcessEnv): TraceRequest {
  return {
    env: env.GIT_TRACE_FSMONITOR,
    bare: env.GIT_TRACE_BARE !== undefined && parseBool(env.GIT_TRACE_BARE) !== false,
  };
}

/** Writes whole lines for the log target: it keeps its own format and rotation. */
export type LogLines = (lines: readonly string[]) => void;

const pad2 = (n: number) => String(n).padStart(2, '0');

/** git's prefix, `HH:MM:SS.uuuuuu <source>` padded to column 40 (local time). */
function timePrefix(): string {
  const us = wallClockUs();
  const d = new Date(Math.floor(us / 1000));
  const clock = `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
  return `${clock}.${String(us % 1_000_000).padStart(6, '0')} git-fsmond `.padEnd(40);
}

export class FsmonitorTrace {
  private fd: number | null = null;

  private constructor(
    private readonly target: Exclude<TraceTarget, { kind: 'invalid' }>,
    private readonly bare: boolean,
    private readonly toLog: LogLines,
  ) {}

  /**
   * The trace the request (or else fsmond.trace) asks for, or null. A file that cannot be
   * opened is a warning and no trace, as in git: tracing must never stop the daemon.
   */
  static open(
    req: TraceRequest,
    configured: string | undefined,
    toLog: LogLines,
    warn: (msg: string) => void,
  ): FsmonitorTrace | null {
    const source = req.env !== undefined ? 'GIT_TRACE_FSMONITOR' : 'fsmond.trace';
    const target = traceTargetOf(req.env ?? configured);
    if (!target) return null;
    if (target.kind === 'invalid') {
      warn(`${source}='${target.value}' is neither true nor an absolute path: not tracing`);
      return null;
    }
    const trace = new FsmonitorTrace(target, req.bare, toLog);
    if (target.kind === 'file') {
      try {
        const { O_WRONLY, O_APPEND, O_CREAT } = fs.constants;
        trace.fd = fs.openSync(target.path, O_WRONLY | O_APPEND | O_CREAT, 0o600);
      } catch (err) {
        warn(`could not open '${target.path}' for tracing: ${(err as Error).message}`);
        return null;
      }
    }
    return trace;
  }

  /** Paths as the watcher gives them: byte strings (latin1), written byte for byte. */
  events(paths: readonly string[]): void {
    if (paths.length > 0) this.write(paths.map((p) => `event: ${p}`));
  }

  /** A line of bytes (latin1), such as a request as it came. */
  line(text: string): void {
    this.write([text]);
  }

  /** The first line git's daemon writes, once it watches (`path` is a UTF-8 string). */
  watching(worktree: string): void {
    this.line(`Watching: worktree '${Buffer.from(worktree, 'utf8').toString('latin1')}'`);
  }

  close(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }

  private write(lines: readonly string[]): void {
    if (this.target.kind === 'log') {
      // The log is text: names that are not UTF-8 show as replacement characters there.
      this.toLog(lines.map((l) => Buffer.from(l, 'latin1').toString('utf8')));
      return;
    }
    if (this.fd === null) return;
    const prefix = this.bare ? '' : timePrefix();
    const text = lines.map((l) => `${prefix}${l}\n`).join('');
    try {
      fs.writeSync(this.fd, Buffer.from(text, 'latin1'));
    } catch {
      // As git does after a failed write: stop tracing, keep serving.
      this.close();
    }
  }
}
