/**
 * Running the real `bin/git-fsmond` as a child process, with a HOME of its own so that global
 * git config (`enable --global`, the `fsmond.worktree` list) never leaks between tests or
 * into the developer's.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after } from 'node:test';
import {
  GIT_ENV,
  LAUNCHER,
  makeRepo,
  type RepoOptions,
  SMALL_REPOS_ENABLED,
  stopDaemon,
} from './git.js';
import { scratchDir } from './scratch.js';
import { waitFor } from './wait.js';

/** What `enable` and `start` print while a daemon registers its watches (src/cli/progress.ts). */
const PROGRESS_LINE = /^registering watches: \d+ directories$/;
export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout split into lines, without the final empty one. */
  lines: string[];
  /** stderr without progress lines, which appear only when the machine is slow. */
  errLines: string[];
}

const splitLines = (s: string) => (s === '' ? [] : s.replace(/\n$/, '').split('\n'));

export class CliSandbox {
  readonly root = scratchDir('fsmond-cli-');
  readonly home = path.join(this.root, 'home');
  readonly env: NodeJS.ProcessEnv = {
    ...GIT_ENV,
    HOME: this.home,
    XDG_CONFIG_HOME: path.join(this.home, '.config'),
    // list and stop --all see only this sandbox's daemons.
    GIT_FSMOND_RUNTIME_DIR: path.join(this.root, 'run'),
    // enable puts the shims here, not into the developer's ~/.local/share.
    GIT_FSMOND_SHIM_HOME: path.join(this.root, 'shim-home'),
  };
  private readonly worktrees: string[] = [];
  private readonly children: ChildProcess[] = [];

  constructor() {
    fs.mkdirSync(this.home);
    // Test repositories have a handful of files: without this, `enable` would leave them alone
    // (fsmond.enableMinEntries). The tests of that limit set it in the repository.
    fs.writeFileSync(path.join(this.home, '.gitconfig'), SMALL_REPOS_ENABLED);
  }

  /** A sandbox for the enclosing describe block, cleaned up after its tests. */
  static forSuite(): CliSandbox {
    const box = new CliSandbox();
    after(() => box.cleanup());
    return box;
  }

  /** A committed repository, by default without any fsmonitor config (so `enable` starts clean). */
  repo(name: string, opts: RepoOptions = {}): string {
    const wt = makeRepo({ monitor: false, ...opts, parent: this.root, name });
    this.worktrees.push(wt);
    return wt;
  }

  /** A directory in no repository. */
  dir(name: string): string {
    const d = path.join(this.root, name);
    fs.mkdirSync(d, { recursive: true });
    return d;
  }

  /** A worktree to clean up that was not made by repo() (a linked worktree, say). */
  track(wt: string): void {
    this.worktrees.push(wt);
  }

  git(cwd: string, args: string[]): string {
    return execFileSync('git', args, { cwd, env: this.env, encoding: 'utf8' });
  }

  /** The global config as `key=value` lines (git config --global --list). */
  /** The line `enable` prints after running the shim it configured. */
  shimLine(fsmonitor: string): string {
    const kind = fsmonitor.endsWith('.cjs') ? 'Node' : 'C';
    return `the ${kind} shim '${fsmonitor}' ran here and answered`;
  }

  /** The shims enable may point git at, in this sandbox's shim home. */
  isHomeShim(value: string): boolean {
    const home = this.env.GIT_FSMOND_SHIM_HOME!;
    return (
      value === path.join(home, 'hooks/bin/fsmond-hook') ||
      value === path.join(home, 'hooks/fsmond-hook.cjs')
    );
  }

  /** The global config as the commands left it, without the sandbox's own seed line. */
  globalConfig(): string[] {
    try {
      const lines = splitLines(this.git(this.root, ['config', '--global', '--list']));
      return lines.filter((l) => l !== 'fsmond.enableminentries=0');
    } catch {
      return [];
    }
  }

  run(args: string[], cwd: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<CliResult> {
    return this.collect(LAUNCHER, args, cwd, extraEnv);
  }

  /** Another installation's CLI: a copy of the package, or an npm prefix's `bin/git-fsmond`. */
  runFrom(launcher: string, args: string[], cwd: string): Promise<CliResult> {
    return this.collect(launcher, args, cwd, {});
  }

  /** The CLI as another user (uid and gid `uid`, no supplementary groups), via setpriv. */
  runAs(uid: number, args: string[], cwd: string): Promise<CliResult> {
    const who = [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups'];
    return this.collect('setpriv', [...who, LAUNCHER, ...args], cwd, {});
  }

  private collect(
    cmd: string,
    args: string[],
    cwd: string,
    extraEnv: NodeJS.ProcessEnv,
  ): Promise<CliResult> {
    return runCollected(cmd, args, cwd, { ...this.env, ...extraEnv });
  }

  /** A long-running command (`run`, `log -f`), killed at cleanup if still alive. */
  spawn(
    args: string[],
    cwd: string,
  ): ChildProcess & { output: { stdout: string; stderr: string } } {
    const child = spawn(LAUNCHER, args, { cwd, env: this.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const output = { stdout: '', stderr: '' };
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      output.stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      output.stderr += d;
    });
    this.children.push(child);
    return Object.assign(child, { output });
  }

  /** Stops every daemon of every worktree made here (the dir follows scratch.ts's policy). */
  async cleanup(): Promise<void> {
    for (const c of this.children)
      if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const wt of this.worktrees) {
      // A test may have removed the worktree or its .git; there is no daemon to stop then.
      if (fs.existsSync(path.join(wt, '.git'))) await stopDaemon(wt);
    }
  }
}

/** Runs `cmd` to its end with its output collected (killed after `timeoutMs`). */
export function runCollected(
  cmd: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
  timeoutMs = 120_000,
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: timeoutMs,
      killSignal: 'SIGKILL',
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) =>
      resolve({
        code,
        stdout,
        stderr,
        lines: splitLines(stdout),
        errLines: splitLines(stderr).filter((l) => !PROGRESS_LINE.test(l)),
      }),
    );
  });
}

/** A refusal: exactly one line on stderr, `git-fsmond: ...`, matching `re`, and `code`. */
export function assertOneLineError(r: CliResult, code: number, re: RegExp): void {
  assert.equal(r.code, code, `exit code; stderr: ${r.stderr}`);
  assert.equal(r.errLines.length, 1, `one line on stderr: ${JSON.stringify(r.stderr)}`);
  assert.match(r.errLines[0]!, /^git-fsmond: /);
  assert.match(r.errLines[0]!, re);
}

/** Resolves once `check()` holds for the child's output (or rejects when it exits first). */
export async function waitForOutput(
  child: ChildProcess & { output: { stdout: string; stderr: string } },
  check: (o: { stdout: string; stderr: string }) => boolean,
): Promise<void> {
  await waitFor('the expected output', () => {
    if (check(child.output)) return true;
    if (child.exitCode !== null) {
      throw new Error(`exited ${child.exitCode}: ${child.output.stderr}`);
    }
    return false;
  }).catch((err: Error) => {
    throw new Error(`${err.message}; output: ${JSON.stringify(child.output)}`);
  });
}

/** Resolves with the exit code once the child has exited. */
export function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((r) => child.once('exit', (code) => r(code)));
}
