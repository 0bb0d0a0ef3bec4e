/**
 * Watchman as a comparison point, with git's sample hook (`fsmonitor-watchman.sample`, perl),
 * only when both are on the machine. It runs as a private server (its socket, pid file and
 * log under the scratch directory) so that no user's Watchman is
 * touched. Not installed by the benchmark (Debian: `apt-get install watchman`).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { socketState } from '../src/ipc/index.js';
import { onPath, procMemory, runQuietly } from './measure.js';
import {
  type Hook,
  type Memory,
  type Monitor,
  parseAnswer,
  pollIncremental,
  type QueryResult,
  reapChild,
  type StartTiming,
} from './monitor.js';
import { gitEnv } from './synth.js';

const SAMPLE_NAME = 'fsmonitor-watchman.sample';

export type Detected =
  | { ok: true; bin: string; sample: string; version: string }
  | { ok: false; note: string };

/** Watchman on PATH, perl, and git's sample hook (Debian: /usr/share/git-core/templates/hooks). */
export function detectWatchman(): Detected {
  const bin = onPath('watchman');
  if (!bin)
    return {
      ok: false,
      note: 'Watchman: not installed (no watchman on PATH; Debian: apt-get install watchman): skipped',
    };
  if (!onPath('perl'))
    return { ok: false, note: 'Watchman: perl not found (the sample hook is perl): skipped' };
  const candidates = ['/usr/share/git-core/templates/hooks'];
  const exec = spawnSync('git', ['--exec-path'], { encoding: 'utf8' }).stdout?.trim();
  if (exec)
    candidates.push(path.resolve(exec, '..', '..', 'share', 'git-core', 'templates', 'hooks'));
  const sample = candidates.map((d) => path.join(d, SAMPLE_NAME)).find((f) => fs.existsSync(f));
  if (!sample) return { ok: false, note: `Watchman: git's ${SAMPLE_NAME} not found: skipped` };
  const v = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  if (v.status !== 0) return { ok: false, note: `Watchman: '${bin} --version' failed: skipped` };
  return { ok: true, bin, sample, version: v.stdout.trim() };
}

export class WatchmanMonitor implements Monitor {
  readonly name = 'Watchman';
  readonly key = 'watchman';
  readonly root: string;
  readonly hook: Hook;
  readonly slowQueries = true;
  private readonly dir: string;
  private readonly sock: string;
  /** For the server, its CLI and the hook alike. */
  private readonly env: Record<string, string>;
  private child: ChildProcess | null = null;
  private lastToken = '';

  constructor(
    private readonly opts: {
      root: string;
      scratch: string;
      bin: string;
      sample: string;
      version: string;
    },
  ) {
    this.root = opts.root;
    this.dir = fs.mkdtempSync(path.join(opts.scratch, 'watchman-'));
    // Watchman 4.9 (Debian 12) ignores WATCHMAN_SOCK in its CLI, which the sample hook runs:
    // only $TMPDIR moves its default `$TMPDIR/<user>-state/sock`. Newer ones read either.
    this.sock = path.join(this.dir, `${os.userInfo().username}-state`, 'sock');
    this.env = { TMPDIR: this.dir, WATCHMAN_SOCK: this.sock };
    const hook = path.join(this.dir, 'fsmonitor-watchman');
    fs.copyFileSync(opts.sample, hook);
    fs.chmodSync(hook, 0o755);
    this.hook = { path: hook, env: Object.entries(this.env).map(([k, v]) => `${k}=${v}`) };
  }

  async start(): Promise<StartTiming> {
    await this.stop();
    const t0 = performance.now();
    const child = spawn(
      this.opts.bin,
      ['--foreground', '--no-save-state', `--logfile=${path.join(this.dir, 'log')}`],
      { cwd: '/', env: gitEnv(this.env), stdio: 'ignore' },
    );
    this.child = child;
    const timing = await pollIncremental(
      t0,
      async (token) => {
        if (child.exitCode !== null) throw new Error(`watchman exited with ${child.exitCode}`);
        return this.hookQuery(token);
      },
      async () => (await socketState(this.sock)) === 'listening',
      600_000,
    );
    return timing;
  }

  memory(): Memory | null {
    return this.child?.pid ? procMemory(this.child.pid) : null;
  }

  query(token: string): Promise<QueryResult> {
    return this.hookQuery(token).then((r) => {
      if (!r) throw new Error('watchman hook gave no answer');
      return r;
    });
  }

  async settle(): Promise<void> {
    // Every Watchman query syncs with a cookie first.
    await this.query(this.lastToken);
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    await runQuietly(this.opts.bin, ['shutdown-server'], '/', gitEnv(this.env));
    await reapChild(child);
    this.child = null;
  }

  notes(): string[] {
    return [
      `Watchman ${this.opts.version}: private server, git's sample hook (perl); its queries are hook runs, perl start-up included`,
    ];
  }

  /** One run of the sample hook, as git runs it; null if it printed nothing usable. */
  private hookQuery(token: string): Promise<QueryResult | null> {
    return new Promise((resolve, reject) => {
      const t0 = performance.now();
      const child = spawn(this.hook.path, ['2', token], {
        cwd: this.opts.root,
        env: gitEnv(this.env),
        stdio: ['ignore', 'pipe', 'ignore'],
        // A hook that cannot reach its server must fail the run, not hang it.
        timeout: 60_000,
      });
      const chunks: Buffer[] = [];
      child.stdout.on('data', (c: Buffer) => chunks.push(c));
      child.on('error', reject);
      child.on('close', () => {
        const ms = performance.now() - t0;
        const out = Buffer.concat(chunks);
        if (out.indexOf(0) <= 0) {
          resolve(null);
          return;
        }
        const a = parseAnswer(out);
        this.lastToken = a.token;
        resolve({ ...a, ms });
      });
    });
  }
}
