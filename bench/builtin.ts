/**
 * git's builtin fsmonitor daemon as a comparison point, when the git on PATH (or --builtin-git)
 * is at least 2.55 (the first release with it on Linux). It speaks the same IPC protocol on
 * the same socket as git-fsmond, so it is queried with the same client; it never runs at the
 * same time as git-fsmond. Never installed by the benchmark.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { procMemory, runQuietly } from './measure.js';
import {
  gitStatusArgs,
  type Monitor,
  pollSocket,
  type QueryResult,
  reapChild,
  SOCK_NAME,
  type StartTiming,
  timedRequest,
} from './monitor.js';
import { gitEnv } from './synth.js';

const MIN_VERSION = [2, 55];

export type Detected = { ok: true; git: string; version: string } | { ok: false; note: string };

export function detectBuiltin(gitBin: string): Detected {
  const v = spawnSync(gitBin, ['version'], { encoding: 'utf8', env: gitEnv(), timeout: 10_000 });
  if (v.status !== 0)
    return { ok: false, note: `git builtin daemon: '${gitBin} version' failed: skipped` };
  const m = /(\d+)\.(\d+)\.?(\d*)/.exec(v.stdout);
  const version = m ? m[0] : v.stdout.trim();
  const major = Number(m?.[1] ?? 0);
  const minor = Number(m?.[2] ?? 0);
  if (major < MIN_VERSION[0]! || (major === MIN_VERSION[0] && minor < MIN_VERSION[1]!)) {
    return {
      ok: false,
      note: `git builtin daemon: ${gitBin} is git ${version}; the Linux builtin daemon needs git >= ${MIN_VERSION.join('.')} (pass --builtin-git PATH): skipped`,
    };
  }
  return { ok: true, git: gitBin, version };
}

export class BuiltinMonitor implements Monitor {
  readonly name = 'git builtin';
  readonly key = 'builtin';
  private readonly sock: string;
  private child: ChildProcess | null = null;

  constructor(
    private readonly opts: { root: string; gitDir: string; git: string; version: string },
  ) {
    this.sock = path.join(opts.gitDir, SOCK_NAME);
  }

  statusArgs(index: string): string[] {
    return gitStatusArgs(index, true, this.opts.git);
  }

  baselineArgs(index: string): string[] {
    return gitStatusArgs(index, false, this.opts.git);
  }

  async start(): Promise<StartTiming> {
    await this.stop();
    const t0 = performance.now();
    const child = spawn(this.opts.git, ['-c', 'core.fsmonitor=true', 'fsmonitor--daemon', 'run'], {
      cwd: this.opts.root,
      env: gitEnv(),
      stdio: 'ignore',
    });
    this.child = child;
    const alive = () => {
      if (child.exitCode !== null)
        throw new Error(`git fsmonitor--daemon exited with ${child.exitCode}`);
    };
    return pollSocket(t0, this.sock, this.opts.root, alive, 600_000);
  }

  memory() {
    return this.child?.pid ? procMemory(this.child.pid) : null;
  }

  query(token: string): Promise<QueryResult> {
    return timedRequest(this.sock, this.opts.root, token);
  }

  hookArgs(): null {
    return null;
  }

  async settle(): Promise<void> {
    await this.query('');
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    // Not spawnSync: our event loop must stay free to reap the daemon (our child), or a
    // `stop` that waits for its pid to go would wait for a zombie.
    await runQuietly(this.opts.git, ['fsmonitor--daemon', 'stop'], this.opts.root, gitEnv());
    await reapChild(child);
    this.child = null;
  }

  notes(): string[] {
    return [
      `git builtin: ${this.opts.git} (git ${this.opts.version}); its status runs use that git, and so does its baseline`,
    ];
  }
}
