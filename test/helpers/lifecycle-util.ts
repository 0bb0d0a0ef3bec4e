/**
 * Helpers for test/integration/lifecycle-*.test.ts and chaos.test.ts: real daemon processes,
 * started as the shim starts them (`bin/git-fsmond daemon <wt>`) or, to see their log lines on
 * stderr once the git dir holding the log is gone, through lifecycle-daemon.ts. Every wait is a
 * hang guard, never a timing assertion.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after } from 'node:test';
import { fileURLToPath } from 'node:url';
import { sendRequest } from '../../src/ipc/index.js';
import { GIT_ENV, gitDirOf, LAUNCHER, socketOf, statusAt } from './git.js';
import { waitFor, withHangGuard } from './wait.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const FOREGROUND_DAEMON = path.join(here, 'lifecycle-daemon.js');

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface DaemonProc {
  child: ChildProcess;
  pid: number;
  /** Everything the process wrote to stderr so far (foreground mode only). */
  stderr(): string;
  exited: Promise<Exit>;
  /** Null while it runs. */
  exit(): Exit | null;
}

/**
 * Starts a daemon for `wt`. `foreground`: in-process `runDaemon` with logs on stderr too
 * (lifecycle-daemon.ts); otherwise the launcher the shims use.
 */
export function spawnDaemon(
  wt: string,
  opts: { foreground?: boolean; env?: NodeJS.ProcessEnv } = {},
): DaemonProc {
  const env = { UV_THREADPOOL_SIZE: '8', ...(opts.env ?? GIT_ENV) };
  const child = opts.foreground
    ? spawn(process.execPath, [FOREGROUND_DAEMON, wt], { env, stdio: ['ignore', 'ignore', 'pipe'] })
    : spawn(LAUNCHER, ['daemon', wt], { env, stdio: 'ignore' });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString('utf8');
  });
  let result: Exit | null = null;
  const exited = new Promise<Exit>((resolve) => {
    child.on('exit', (code, signal) => {
      result = { code, signal };
      resolve(result);
    });
  });
  return { child, pid: child.pid ?? -1, stderr: () => err, exited, exit: () => result };
}

/** Waits until `d` serves `sock` and watches; throws if it exits first. */
export async function waitServing(d: DaemonProc, sock: string, ms = 30_000): Promise<void> {
  await waitFor(
    `daemon ${d.pid} to watch`,
    async () => {
      const e = d.exit();
      if (e) throw new Error(`daemon ${d.pid} exited (${e.code ?? e.signal}): ${d.stderr()}`);
      const s = await statusAt(sock);
      return s?.pid === d.pid && s.watching === true;
    },
    { timeoutMs: ms },
  );
}

/** Waits for the exit and returns it with the time it took ("within 2 s" is reported, not asserted). */
export async function exitAfter(d: DaemonProc, since: number): Promise<Exit & { ms: number }> {
  const e = await withHangGuard(`daemon ${d.pid} to exit`, d.exited);
  return { ...e, ms: Date.now() - since };
}

/** Kills it if it still runs (test cleanup). */
export async function reap(d: DaemonProc | null | undefined): Promise<void> {
  if (!d || d.exit()) return;
  d.child.kill('SIGKILL');
  await d.exited;
}

/** The daemons one test file starts, so that they can all be reaped. */
export class Tracked {
  readonly daemons: DaemonProc[] = [];

  spawn(wt: string, opts: { foreground?: boolean; env?: NodeJS.ProcessEnv } = {}): DaemonProc {
    const d = spawnDaemon(wt, opts);
    this.daemons.push(d);
    return d;
  }

  /** A daemon for `wt` once it serves `wt`'s socket and watches (hang guard `ms`). */
  async serve(
    wt: string,
    opts: { foreground?: boolean; ms?: number; env?: NodeJS.ProcessEnv } = {},
  ): Promise<DaemonProc> {
    const d = this.spawn(wt, { foreground: opts.foreground, env: opts.env });
    await waitServing(d, socketOf(wt), opts.ms);
    return d;
  }

  /** Starts a foreground daemon in `dir` that must refuse; returns its one stderr line. */
  async refusal(dir: string, env?: NodeJS.ProcessEnv): Promise<string> {
    const d = this.spawn(dir, { foreground: true, env });
    const e = await exitAfter(d, Date.now());
    assert.equal(e.code, 1, d.stderr());
    const lines = d.stderr().split('\n').filter(Boolean);
    assert.equal(lines.length, 1, `one line, got: ${d.stderr()}`);
    return lines[0]!;
  }
}

/**
 * Tracked daemons reaped when the file's tests are done: every daemon is continued (a test may
 * have stopped it with SIGSTOP) and killed. Their scratch dirs follow scratch.ts's policy.
 */
export function trackForCleanup(): Tracked {
  const tracked = new Tracked();
  after(async () => {
    for (const d of tracked.daemons) {
      if (d.exit() === null) d.child.kill('SIGCONT');
      await reap(d);
    }
  });
  return tracked;
}

export function readLog(gitDir: string): string {
  let text = '';
  for (const f of ['daemon.log.1', 'daemon.log']) {
    try {
      text += fs.readFileSync(path.join(gitDir, 'fsmond', f), 'utf8');
    } catch {
      // not there
    }
  }
  return text;
}

export function logOf(wt: string): string {
  return readLog(gitDirOf(wt));
}

/**
 * Sends `token` from the root of the worktree the daemon at `sock` serves, as git does, and
 * returns the answer's token and paths (`['/']` when trivial).
 */
export async function query(
  sock: string,
  token: string,
): Promise<{ token: string; paths: string[] }> {
  const worktree = (await statusAt(sock, 15_000))?.worktree;
  const raw = (
    await sendRequest(sock, Buffer.from(token, 'latin1'), {
      timeoutMs: 15_000,
      ...(worktree ? { fromDir: worktree } : {}),
    })
  )
    .toString('latin1')
    .split('\0');
  return { token: raw[0]!, paths: raw.slice(1, -1) };
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export interface GitRun {
  status: number | null;
  stdout: string;
  stderr: string;
  /** Killed by the hang guard. */
  hung: boolean;
}

/** git with a hang guard: a command still running after `timeoutMs` is killed and reported. */
export function gitGuarded(
  cwd: string,
  args: string[],
  opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<GitRun> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, {
      cwd,
      env: opts.env ?? GIT_ENV,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: opts.timeoutMs ?? 30_000,
      killSignal: 'SIGKILL',
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    child.on('close', (status, signal) =>
      resolve({
        status,
        stdout: Buffer.concat(out).toString('latin1'),
        stderr: Buffer.concat(err).toString('utf8'),
        hung: signal === 'SIGKILL',
      }),
    );
  });
}

/** A server that takes over a socket path: it accepts, then never answers. */
export async function listenAt(sock: string): Promise<net.Server & { conns: Set<net.Socket> }> {
  const conns = new Set<net.Socket>();
  const server = net.createServer((c) => {
    conns.add(c);
    c.on('error', () => {});
    c.on('close', () => conns.delete(c));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(sock, () => resolve());
  });
  return Object.assign(server, { conns });
}

export async function closeServer(server: net.Server & { conns: Set<net.Socket> }): Promise<void> {
  for (const c of server.conns) c.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

export function mode(p: string): number {
  return fs.lstatSync(p).mode & 0o777;
}
