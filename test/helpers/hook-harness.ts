/**
 * Helpers for the hook shim tests (test/integration/hook-*.test.ts) and bench/hook.ts:
 * locating and building the two shims, temp worktrees, the stand-in daemon
 * (hook-fixture-daemon.ts) behind a launcher script, and running a shim like git does.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PACKAGE_ROOT } from '../../src/cli/common.js';
import { C_SHIM, NODE_SHIM } from '../../src/cli/config.js';
import type { FixtureConfig, FixtureRequest, FixtureStartEvent } from './hook-fixture-daemon.js';
import { waitFor } from './wait.js';

export { C_SHIM, NODE_SHIM, PACKAGE_ROOT };

const here = path.dirname(fileURLToPath(import.meta.url));
export const FIXTURE_DAEMON = path.join(here, 'hook-fixture-daemon.js');
export const SOCK_NAME = 'fsmonitor--daemon.ipc';
/** What a shim prints when it cannot get a valid answer. */
export const UNAVAILABLE = /^builtin:fsmond-unavailable\.\d+\.\d+:0\0\/\0$/;

export interface Shim {
  name: 'C' | 'Node';
  path: string;
  /** Set when this shim cannot run here; pass it as the `skip` option of the test. */
  skip: string | false;
}

/**
 * Both shims. The C one is (re)built with hooks/build.mjs when it is missing or older than
 * its source; it is skipped, with a message, only when no compiler exists.
 */
export function shims(): Shim[] {
  const source = path.join(PACKAGE_ROOT, 'hooks', 'fsmond-hook.c');
  let skip: string | false = false;
  const fresh = () =>
    fs.existsSync(C_SHIM) && fs.statSync(C_SHIM).mtimeMs >= fs.statSync(source).mtimeMs;
  if (!fresh()) {
    const res = spawnSync(process.execPath, [path.join(PACKAGE_ROOT, 'hooks', 'build.mjs')], {
      encoding: 'utf8',
      cwd: PACKAGE_ROOT,
    });
    if (res.status !== 0) throw new Error(`hooks/build.mjs failed:\n${res.stdout}${res.stderr}`);
    if (!fs.existsSync(C_SHIM)) {
      skip = `C shim not built (no C compiler): ${res.stdout.trim()}`;
    }
  }
  return [
    { name: 'C', path: C_SHIM, skip },
    { name: 'Node', path: NODE_SHIM, skip: false },
  ];
}

export function pkt(data: string | Buffer): Buffer {
  const buf = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
  return Buffer.concat([Buffer.from((buf.length + 4).toString(16).padStart(4, '0')), buf]);
}

export interface Repo {
  /** The worktree root (the shim's cwd). */
  root: string;
  gitdir: string;
  /** Extra environment for the shim and the stand-in (GIT_DIR for the GIT_DIR layout). */
  env: Record<string, string>;
}

export type Layout = 'dotgit' | 'gitfile-abs' | 'gitfile-rel' | 'gitdir-env-abs' | 'gitdir-env-rel';

/**
 * A worktree in `base` with its git dir laid out as asked. `git init` makes a real
 * repository when `git` is true; otherwise the git dir is an empty directory (all the shim
 * needs). `deep` makes the git dir path longer than a socket path may be.
 */
export function makeLayoutRepo(
  base: string,
  opts: { layout?: Layout; git?: boolean; deep?: boolean } = {},
): Repo {
  const layout = opts.layout ?? 'dotgit';
  const top = opts.deep ? path.join(base, `long-${'x'.repeat(60)}`, 'y'.repeat(60)) : base;
  const root = path.join(top, 'wt');
  fs.mkdirSync(root, { recursive: true });
  const gitdir = layout === 'dotgit' ? path.join(root, '.git') : path.join(top, 'store', 'gd');
  if (opts.git) {
    const args = layout === 'dotgit' ? [] : [`--separate-git-dir=${gitdir}`];
    const r = spawnSync('git', ['init', '-q', ...args, root], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`git init failed: ${r.stderr}`);
    if (layout !== 'dotgit') fs.rmSync(path.join(root, '.git')); // its own .git file
  } else {
    fs.mkdirSync(gitdir, { recursive: true });
  }
  const env: Record<string, string> = {};
  if (layout === 'gitfile-abs') fs.writeFileSync(path.join(root, '.git'), `gitdir: ${gitdir}\n`);
  if (layout === 'gitfile-rel') {
    fs.writeFileSync(path.join(root, '.git'), `gitdir: ${path.relative(root, gitdir)}\r\n`);
  }
  if (layout === 'gitdir-env-abs') env.GIT_DIR = gitdir;
  if (layout === 'gitdir-env-rel') env.GIT_DIR = path.relative(root, gitdir);
  return { root, gitdir, env };
}

export interface Launcher {
  /** The executable to pass as GIT_FSMOND_LAUNCHER. */
  path: string;
  configFile: string;
  startLog: string;
  requestLog: string;
  /** Replaces the stand-in's configuration (logs are kept). */
  configure(cfg: FixtureConfig): void;
}

/** A launcher script in `dir` that runs the stand-in daemon with its own config and logs. */
export function writeLauncher(dir: string, cfg: FixtureConfig = {}, name = 'launcher'): Launcher {
  const file = path.join(dir, name);
  const configFile = path.join(dir, `${name}.config.json`);
  const startLog = path.join(dir, `${name}.starts.jsonl`);
  const requestLog = path.join(dir, `${name}.requests.jsonl`);
  const configure = (c: FixtureConfig) =>
    fs.writeFileSync(configFile, JSON.stringify({ ...c, startLog, requestLog }));
  configure(cfg);
  fs.writeFileSync(
    file,
    `#!/bin/sh\nHOOK_FIXTURE_CONFIG='${configFile}' exec '${process.execPath}' '${FIXTURE_DAEMON}' "$@"\n`,
    { mode: 0o755 },
  );
  return { path: file, configFile, startLog, requestLog, configure };
}

/** A launcher script with the given shell body (e.g. `exit 0`). */
export function writeScript(dir: string, name: string, body: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return file;
}

function readJsonLines<T>(file: string): T[] {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as T);
}

export const starts = (l: Launcher) => readJsonLines<FixtureStartEvent>(l.startLog);
export const requests = (l: Launcher) => readJsonLines<FixtureRequest>(l.requestLog);

/** Environment for a shim run: ours plus the repo's, without a GIT_DIR of our own. */
export function shimEnv(repo: Repo, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...repo.env, ...extra };
  if (!repo.env.GIT_DIR && !extra.GIT_DIR) delete env.GIT_DIR;
  return env;
}

/** Starts the stand-in daemon (hook-fixture-daemon.ts) directly (as a running daemon) and waits until it listens. */
export async function startFixtureDaemon(repo: Repo, launcher: Launcher): Promise<number> {
  const before = starts(launcher).filter((s) => s.event === 'listening').length;
  const child = spawn(launcher.path, ['daemon', repo.root], {
    detached: true,
    stdio: 'ignore',
    cwd: '/',
    env: shimEnv(repo),
  });
  child.unref();
  const ev = await waitFor('the stand-in to listen', () => {
    const ls = starts(launcher).filter((s) => s.event === 'listening');
    return ls.length > before ? ls[ls.length - 1] : undefined;
  });
  return ev.pid;
}

/**
 * SIGTERMs (or SIGKILLs) every stand-in this launcher started that still runs. A recorded pid
 * may have exited and been reused by now, so only a process whose environment names this
 * launcher's config file is signalled.
 */
export function killDaemons(launcher: Launcher, signal: NodeJS.Signals = 'SIGTERM'): void {
  const mark = `HOOK_FIXTURE_CONFIG=${launcher.configFile}`;
  for (const s of starts(launcher)) {
    try {
      const env = fs.readFileSync(`/proc/${s.pid}/environ`, 'latin1').split('\0');
      if (env.includes(mark)) process.kill(s.pid, signal);
    } catch {
      // already gone
    }
  }
}

export async function waitGone(pid: number): Promise<void> {
  await waitFor(`pid ${pid} to exit`, () => {
    try {
      process.kill(pid, 0);
      return undefined;
    } catch {
      return true;
    }
  });
}

/** True if something accepts connections on the repo's socket. */
export function socketLive(repo: Repo): Promise<boolean> {
  return new Promise((resolve) => {
    const cwd = process.cwd();
    process.chdir(repo.gitdir); // relative name: may be too long (docs/linux-watching.md#t12)
    let s: net.Socket;
    try {
      s = net.connect(SOCK_NAME);
    } finally {
      process.chdir(cwd);
    }
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export interface ShimResult {
  pid: number;
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
  /** stdout as latin1 (one char per byte). */
  text: string;
}

/**
 * Runs a shim the way git does: cwd at the worktree root, argv `<version> <token>`. Its stdin
 * is a pipe that is never closed (the shim must not read it). Killed after `hangMs`.
 */
export function runShim(
  shim: Shim,
  args: string[],
  opts: { cwd: string; env: NodeJS.ProcessEnv; hangMs?: number },
): Promise<ShimResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(shim.path, args, {
      cwd: opts.cwd,
      env: opts.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: opts.hangMs ?? 30_000,
      killSignal: 'SIGKILL',
    });
    child.stdin.on('error', () => {});
    child.stdin.write('this is git stdin, not for the hook\n');
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    child.on('close', (status, signal) => {
      child.stdin.destroy();
      const stdout = Buffer.concat(out);
      resolve({
        pid: child.pid ?? -1,
        status,
        signal,
        stdout,
        stderr: Buffer.concat(err).toString('utf8'),
        text: stdout.toString('latin1'),
      });
    });
  });
}
