/**
 * git's builtin fsmonitor daemon (git >= 2.55, bench/gits.ts) as a comparison point. It
 * speaks the same IPC protocol on the same socket name as git-fsmond, so it is queried with
 * the same client, in a repository of its own (bench/run.ts) so that both can run at once.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { envOf, type GitBin, gitLabel } from './gits.js';
import { procMemory, runQuietly } from './measure.js';
import {
  type Memory,
  type Monitor,
  pollSocket,
  type QueryResult,
  reapChild,
  SOCK_NAME,
  type StartTiming,
  timedRequest,
} from './monitor.js';
import { gitEnv } from './synth.js';

export class BuiltinMonitor implements Monitor {
  readonly name = 'git builtin';
  readonly key = 'builtin';
  readonly ipc = true;
  readonly root: string;
  private readonly sock: string;
  private child: ChildProcess | null = null;

  constructor(private readonly opts: { root: string; gitDir: string; git: GitBin }) {
    this.root = opts.root;
    this.sock = path.join(opts.gitDir, SOCK_NAME);
  }

  async start(): Promise<StartTiming> {
    await this.stop();
    const t0 = performance.now();
    const git = this.opts.git;
    const child = spawn(git.path, ['-c', 'core.fsmonitor=true', 'fsmonitor--daemon', 'run'], {
      cwd: this.root,
      env: gitEnv(envOf(git)),
      stdio: 'ignore',
    });
    this.child = child;
    const alive = () => {
      if (child.exitCode !== null)
        throw new Error(`git fsmonitor--daemon exited with ${child.exitCode}`);
    };
    return pollSocket(t0, this.sock, this.root, alive, 600_000);
  }

  memory(): Memory | null {
    return this.child?.pid ? procMemory(this.child.pid) : null;
  }

  query(token: string): Promise<QueryResult> {
    return timedRequest(this.sock, this.root, token);
  }

  async settle(): Promise<void> {
    await this.query('');
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    // Not spawnSync: our event loop must stay free to reap the daemon (our child), or a
    // `stop` that waits for its pid to go would wait for a zombie.
    const git = this.opts.git;
    await runQuietly(git.path, ['fsmonitor--daemon', 'stop'], this.root, gitEnv(envOf(git)));
    await reapChild(child);
    this.child = null;
  }

  notes(): string[] {
    return [`git builtin: ${this.opts.git.path} (${gitLabel(this.opts.git)})`];
  }
}
