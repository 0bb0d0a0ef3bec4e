/**
 * The daemons under test, behind one interface whose optional parts say what each can do:
 * git-fsmond (here, always), git's builtin daemon and Watchman (bench/builtin.ts,
 * bench/watchman.ts, when present on the machine).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { LAUNCHER } from '../src/cli/common.js';
import { C_SHIM } from '../src/cli/config.js';
import {
  daemonNodeOptions,
  LAYOUT,
  NEVER_VALID_ID_PREFIX,
  REQUEST,
} from '../src/contract/index.js';
import { IpcClientError, sendRequest, socketState } from '../src/ipc/index.js';
import type { GitBin } from './gits.js';
import { procMemory, sleep } from './measure.js';
import { gitEnv } from './synth.js';

export { NODE_SHIM } from '../src/cli/config.js';
export { C_SHIM, LAUNCHER };
export const SOCK_NAME = LAYOUT.socket;

export interface Answer {
  token: string;
  /** The answer is `/` (everything may have changed). */
  trivial: boolean;
  paths: number;
  bytes: number;
}

export interface QueryResult extends Answer {
  ms: number;
}

/** `token\0` then `/\0` or `path\0`... (a hook's stdout or a daemon's payload). */
export function parseAnswer(buf: Buffer): Answer {
  const nul = buf.indexOf(0);
  if (nul <= 0) throw new Error(`invalid answer ${JSON.stringify(buf.toString('latin1', 0, 80))}`);
  const token = buf.toString('latin1', 0, nul);
  let paths = 0;
  // A leading `/` entry: git rescans everything. (Watchman's sample hook, when it has just
  // started watching, prints `clock\0/` and then a second answer right after it.)
  let trivial = buf[nul + 1] === 0x2f;
  let start = nul + 1;
  while (start < buf.length) {
    let end = buf.indexOf(0, start);
    if (end < 0) end = buf.length;
    if (end > start) {
      paths++;
      if (end - start === 1 && buf[start] === 0x2f) trivial = true;
    }
    start = end + 1;
  }
  return { token, trivial, paths, bytes: buf.length };
}

export interface StartTiming {
  /** Spawn to the socket (or server) accepting connections; NaN when not observable. */
  listenMs: number;
  /** Spawn to the first answer that carries a token we can use. */
  firstAnswerMs: number;
  /** Spawn to the first non-`/` answer to a token taken from an earlier answer. */
  incrementalMs: number;
}

export interface Memory {
  rss: number;
  /** Peak RSS (VmHWM). */
  hwm: number;
}

/** A program git runs as its fsmonitor hook (version 2), with `NAME=value` words for `env`. */
export interface Hook {
  path: string;
  env: string[];
}

/**
 * A daemon under test. What not every daemon has is optional, and the measures that need it
 * skip the ones without it.
 */
export interface Monitor {
  readonly name: string;
  /** Short key: index file names, raw numbers. */
  readonly key: string;
  /** The worktree it watches. */
  readonly root: string;
  /** Starts it from nothing; resolves once it gave an incremental answer. */
  start(): Promise<StartTiming>;
  stop(): Promise<void>;
  /** One timed query with `token`, as git sends it (Watchman: one run of its hook). */
  query(token: string): Promise<QueryResult>;
  /** Blocks until every event queued so far has been processed (for "settled" timings). */
  settle(): Promise<void>;
  /** It serves git's socket: git >= 2.55 with `core.fsmonitor=true` talks to it. */
  readonly ipc?: true;
  /** What git spawns for it with `core.fsmonitor=<hook>`. */
  readonly hook?: Hook;
  /**
   * Its queries are runs of an interpreted hook (hundreds of ms each): the hook and churn
   * measures ask it a tenth as often, so that a run ends.
   */
  readonly slowQueries?: true;
  /** Resident memory of its process. */
  memory?(): Memory | null;
  /** The daemon's own time for its last answer, to set beside the client's. */
  serverMs?(): Promise<number>;
  /** Anything worth printing under the table. */
  notes(): string[];
}

/** argv of one hook round trip: what git spawns for every command. */
export function hookArgv(hook: Hook, token: string): string[] {
  return [...(hook.env.length ? ['env', ...hook.env] : []), hook.path, '2', token];
}

/** Asks from `root`, as git does: a daemon answers a token only to a client there. */
export async function timedRequest(
  sock: string,
  root: string,
  token: string,
  timeoutMs = 120_000,
): Promise<QueryResult> {
  const t0 = performance.now();
  const raw = await sendRequest(sock, Buffer.from(token, 'latin1'), { timeoutMs, fromDir: root });
  const ms = performance.now() - t0;
  return { ...parseAnswer(raw), ms };
}

/**
 * Polls a freshly spawned monitor: query, take the token, query again, until an answer to a
 * token taken from an earlier answer is not `/`. `query` returns null while nothing answers
 * yet.
 */
export async function pollIncremental(
  t0: number,
  query: (token: string) => Promise<QueryResult | null>,
  listening: () => Promise<boolean>,
  timeoutMs: number,
): Promise<StartTiming> {
  const deadline = t0 + timeoutMs;
  while (!(await listening())) {
    if (performance.now() > deadline) throw new Error('monitor never listened');
    await sleep(2);
  }
  const listenMs = performance.now() - t0;
  let token = '';
  let fromAnswer = false;
  let firstAnswerMs = Number.NaN;
  for (;;) {
    if (performance.now() > deadline) throw new Error('no incremental answer in time');
    const a = await query(token);
    if (a === null) {
      await sleep(2);
      continue;
    }
    const now = performance.now() - t0;
    if (fromAnswer && !a.trivial) return { listenMs, firstAnswerMs, incrementalMs: now };
    if (Number.isNaN(firstAnswerMs) && !neverValid(a.token)) firstAnswerMs = now;
    token = a.token;
    fromAnswer = true;
  }
}

/** Tokens git-fsmond hands out while it cannot vouch for any moment (src/contract wire.ts). */
const neverValid = (token: string) =>
  Object.values(NEVER_VALID_ID_PREFIX).some((p) => token.startsWith(`builtin:${p}`));

/**
 * pollIncremental for a daemon that serves git's IPC socket at `sock` (git-fsmond, git's
 * builtin): until it listens, a missing socket is "no answer yet". `alive` throws once the
 * daemon has exited, so that a crash fails the start instead of running into the timeout.
 */
export function pollSocket(
  t0: number,
  sock: string,
  root: string,
  alive: () => void,
  timeoutMs: number,
): Promise<StartTiming> {
  return pollIncremental(
    t0,
    async (token) => {
      alive();
      try {
        return await timedRequest(sock, root, token);
      } catch (err) {
        if (
          err instanceof IpcClientError &&
          (err.code === 'not-found' || err.code === 'not-listening')
        )
          return null;
        throw err;
      }
    },
    async () => {
      alive();
      return (await socketState(sock)) === 'listening';
    },
    timeoutMs,
  );
}

/** Waits up to 20 s for a monitor asked to stop to exit, then kills it. */
export async function reapChild(child: ChildProcess): Promise<void> {
  const end = Date.now() + 20_000;
  while (child.exitCode === null && child.signalCode === null && Date.now() < end) await sleep(10);
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

/**
 * argv of `git status --porcelain` in `root` on the index file `index` (each mode has its own:
 * a status without fsmonitor would strip another mode's token), `fsmonitor` being `false`,
 * `true` (git >= 2.55: its socket), a hook path, or null: what the repository's own config
 * says; `env` (`NAME=value`) goes to git and its hook.
 */
export function statusArgv(
  git: GitBin,
  root: string,
  index: string,
  fsmonitor: string | null,
  env: string[] = [],
): string[] {
  const config =
    fsmonitor === null
      ? []
      : ['-c', `core.fsmonitor=${fsmonitor}`, '-c', 'core.fsmonitorHookVersion=2'];
  return [
    'env',
    `GIT_INDEX_FILE=${index}`,
    ...git.env,
    ...env,
    git.path,
    '-C',
    root,
    ...config,
    'status',
    '--porcelain',
  ];
}

export interface FsmondOptions {
  root: string;
  gitDir: string;
  launcher?: string;
  /** UV_THREADPOOL_SIZE for the daemon (bin/git-fsmond defaults it to 8). */
  threadpool?: number;
  /** NODE_OPTIONS for the daemon (experiments: `--max-semi-space-size=2`). */
  nodeOptions?: string;
}

export class FsmondMonitor implements Monitor {
  readonly name = 'git-fsmond';
  readonly key = 'fsmond';
  readonly ipc = true;
  readonly hook: Hook = { path: C_SHIM, env: [] };
  readonly root: string;
  private child: ChildProcess | null = null;
  private pid = 0;
  private readonly sock: string;
  private readonly launcher: string;

  constructor(private readonly opts: FsmondOptions) {
    this.root = opts.root;
    this.sock = path.join(opts.gitDir, SOCK_NAME);
    this.launcher = opts.launcher ?? LAUNCHER;
  }

  async start(): Promise<StartTiming> {
    await this.stop();
    const env = gitEnv();
    // Adds ~45 ms to every node start (docs/linux-watching.md#t1); not what the daemon is about.
    delete env.NODE_EXTRA_CA_CERTS;
    if (this.opts.threadpool) env.UV_THREADPOOL_SIZE = String(this.opts.threadpool);
    // As the shims, `start` and the service unit launch it (the contract's --jitless added).
    env.NODE_OPTIONS = daemonNodeOptions(this.opts.nodeOptions || env.NODE_OPTIONS || undefined);
    const t0 = performance.now();
    const child = spawn(this.launcher, ['daemon', this.opts.root], {
      cwd: '/',
      env,
      stdio: 'ignore',
    });
    this.child = child;
    this.pid = child.pid ?? 0;
    let exited: number | null = null;
    child.once('exit', (code) => {
      exited = code ?? -1;
    });
    const alive = () => {
      if (exited !== null) throw new Error(`daemon exited with ${exited} while starting`);
    };
    return pollSocket(t0, this.sock, this.opts.root, alive, 300_000);
  }

  memory(): Memory | null {
    return this.pid ? procMemory(this.pid) : null;
  }

  query(token: string): Promise<QueryResult> {
    return timedRequest(this.sock, this.opts.root, token);
  }

  async serverMs(): Promise<number> {
    return Number((await this.status()).lastAnswerMs);
  }

  private async status(): Promise<Record<string, unknown>> {
    const raw = await sendRequest(this.sock, Buffer.from(REQUEST.status), { timeoutMs: 120_000 });
    return JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
  }

  /** A query syncs through a cookie: once it is answered, every earlier event was processed. */
  async settle(): Promise<void> {
    for (;;) {
      const s = await this.status();
      if (s.watching === true) break;
      await sleep(20);
    }
    await this.query('');
  }

  async stop(): Promise<void> {
    if ((await socketState(this.sock)) === 'listening') {
      await sendRequest(this.sock, Buffer.from(REQUEST.quit), { timeoutMs: 10_000 }).catch(
        () => {},
      );
    }
    if (this.child) await reapChild(this.child);
    const end = Date.now() + 10_000;
    while ((await socketState(this.sock)) === 'listening' && Date.now() < end) await sleep(10);
    this.child = null;
    this.pid = 0;
  }

  notes(): string[] {
    return [];
  }
}
