/** The checks of `doctor` about git and its config: one ok / warn / fail line each, with advice. */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { parseBool, SETTINGS } from '../daemon/index.js';
import { bestShim, homeShims, monitorKind, needsShell, shimBuild } from './config.js';
import { settingProblems, settingWarnings } from './keys.js';
import { runShimOnce, shimHomeStale } from './shim-install.js';
import type { TooSmall } from './small-repo.js';

const run = promisify(execFile);

export type Verdict = 'ok' | 'warn' | 'fail';

export interface Check {
  check: string;
  status: Verdict;
  message: string;
  /** What to do, when there is something to do. */
  advice: string | null;
}

export const check = (
  name: string,
  status: Verdict,
  message: string,
  advice: string | null = null,
) => ({
  check: name,
  status,
  message,
  advice,
});

export interface GitInfo {
  version: string;
  numbers: number[];
  /** git can talk to a daemon itself (`core.fsmonitor=true`), over the socket we serve. */
  ipc: boolean;
  daemonFeature: boolean;
}

const atLeast = (v: number[], want: number[]) => {
  for (let i = 0; i < want.length; i++) {
    if ((v[i] ?? 0) !== want[i]!) return (v[i] ?? 0) > want[i]!;
  }
  return true;
};

export async function gitInfo(): Promise<GitInfo> {
  const { stdout } = await run('git', ['version', '--build-options']);
  const version = /git version (\S+)/.exec(stdout)?.[1] ?? 'unknown';
  const numbers = version.split('.').map((n) => Number.parseInt(n, 10) || 0);
  const daemonFeature = /^feature: fsmonitor--daemon$/m.test(stdout);
  // git's own daemon came to macOS and Windows in 2.36, to Linux only in 2.55.
  const ipcSince = process.platform === 'linux' ? [2, 55] : [2, 36];
  return { version, numbers, daemonFeature, ipc: daemonFeature && atLeast(numbers, ipcSince) };
}

export function checkGit(git: GitInfo): Check {
  const ipc = git.ipc
    ? 'core.fsmonitor=true (IPC) works too'
    : `core.fsmonitor=true (IPC) does not work with it (needs git >= ${process.platform === 'linux' ? '2.55' : '2.36'} with 'feature: fsmonitor--daemon')`;
  if (!atLeast(git.numbers, [2, 26])) {
    return check(
      'git',
      'fail',
      `git ${git.version} has no hook protocol v2`,
      'install git >= 2.26',
    );
  }
  return check('git', 'ok', `git ${git.version}: hook protocol v2 works; ${ipc}`);
}

export interface ConfigView {
  worktree: string;
  fsmonitor: string | null;
  fsmonitorScope: string | null;
  hookVersion: string | null;
  untrackedCache: string | null;
  all: Map<string, string>;
  /** Set when core.fsmonitor is unset and `enable` would leave the repository alone. */
  tooSmall: TooSmall | null;
}

/** core.fsmonitor, core.fsmonitorHookVersion and core.untrackedCache, as git sees them. */
export function checkConfig(cfg: ConfigView, git: GitInfo): Check[] {
  const checks: Check[] = [];
  const fix = "run 'git fsmond enable'";
  const kind = monitorKind(cfg.fsmonitor);
  const where = cfg.fsmonitorScope ? ` (${cfg.fsmonitorScope} config)` : '';
  const name = 'core.fsmonitor';
  if (kind === 'none' && cfg.tooSmall) {
    const { entries, limit } = cfg.tooSmall;
    checks.push(
      check(
        name,
        'ok',
        `core.fsmonitor is unset, as enable leaves it in a repository of ${entries} index entries (below ${SETTINGS.enableMinEntries.key}, ${limit}): git scans it faster than it runs any monitor; 'git fsmond enable --force' uses one anyway`,
      ),
    );
  } else if (kind === 'none') {
    checks.push(check(name, 'fail', `core.fsmonitor is ${cfg.fsmonitor ?? 'unset'}${where}`, fix));
  } else if (kind === 'ipc') {
    checks.push(
      git.ipc
        ? check(name, 'ok', `core.fsmonitor=true${where}: git asks the daemon over its socket`)
        : check(
            name,
            'warn',
            `core.fsmonitor=true${where}, but git ${git.version} has no fsmonitor--daemon: it silently rescans everything`,
            fix,
          ),
    );
  } else {
    checks.push(hookPathCheck(cfg.fsmonitor!, where, kind, cfg.worktree));
    if (cfg.hookVersion === '2') {
      checks.push(check('core.fsmonitorHookVersion', 'ok', 'core.fsmonitorHookVersion=2'));
    } else {
      checks.push(
        check(
          'core.fsmonitorHookVersion',
          cfg.hookVersion === null ? 'warn' : 'fail',
          `core.fsmonitorHookVersion is ${cfg.hookVersion ?? 'unset (git tries 2, then 1)'}`,
          'git config core.fsmonitorHookVersion 2',
        ),
      );
    }
  }
  checks.push(
    parseBool(cfg.untrackedCache ?? '') === true
      ? check('core.untrackedCache', 'ok', `core.untrackedCache=${cfg.untrackedCache}`)
      : check(
          'core.untrackedCache',
          'warn',
          `core.untrackedCache is ${cfg.untrackedCache ?? 'unset'}: git still reads every directory to find untracked files`,
          'git config core.untrackedCache true',
        ),
  );
  const problems = [...settingProblems(cfg.all), ...settingWarnings(cfg.all)];
  checks.push(
    problems.length === 0
      ? check('settings', 'ok', 'every fsmond.* key is known and valid')
      : check('settings', 'warn', problems.join('; '), 'see the README, Configuration'),
  );
  return checks;
}

/** Where git finds the hook: a bare name on PATH, any other path from the worktree root. */
function hookFile(value: string, worktree: string): string | null {
  const executable = (p: string) => {
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return fs.statSync(p).isFile();
    } catch {
      return false;
    }
  };
  if (value.includes('/')) {
    const p = path.resolve(worktree, value);
    return executable(p) ? p : null;
  }
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  return dirs.map((d) => path.join(d, value)).find(executable) ?? null;
}

function hookPathCheck(value: string, where: string, kind: string, worktree: string): Check {
  const name = 'core.fsmonitor';
  // A value with shell characters is a shell command line to git: nothing to resolve.
  if (needsShell(value)) {
    return check(
      name,
      'warn',
      `core.fsmonitor=${value}${where} has shell characters, so git runs it through sh (1-2 ms more per command)`,
      'install git-fsmond under a plain path',
    );
  }
  if (hookFile(value, worktree) === null) {
    return check(
      name,
      'fail',
      `core.fsmonitor=${value}${where} is not an executable file`,
      "run 'git fsmond enable'",
    );
  }
  if (kind === 'other') {
    return check(
      name,
      'warn',
      `core.fsmonitor=${value}${where} is not git-fsmond's shim`,
      "run 'git fsmond enable'",
    );
  }
  const home = homeShims();
  if (value !== home.c && value !== home.node) {
    return check(
      name,
      'warn',
      `core.fsmonitor=${value}${where} is not the shim in '${path.dirname(path.dirname(path.dirname(home.c)))}': if it is inside a git-fsmond package, every git command fails once that package is upgraded or uninstalled`,
      "run 'git fsmond enable'",
    );
  }
  return check(name, 'ok', `core.fsmonitor=${value}${where}`);
}

/** Which shim git runs, and whether it actually runs here: it is executed once, as git would. */
export async function checkShim(
  value: string | null,
  kind: string,
  worktree: string,
): Promise<Check> {
  const name = 'shim';
  const best = bestShim();
  const file = (kind === 'c' || kind === 'node') && value ? hookFile(value, worktree) : null;
  if ((kind === 'c' || kind === 'node') && !file) {
    return check(
      name,
      'fail',
      `git's shim '${value}' is missing: every git command prints "cannot run"`,
      "run 'git fsmond enable'",
    );
  }
  const problem = file ? await runShimOnce(file) : null;
  if (problem) {
    return check(
      name,
      'fail',
      `git runs '${file}', which does not work here: ${problem}; git then fails or rescans on every command`,
      "run 'git fsmond enable' (it builds a shim for this machine, or falls back to the Node one)",
    );
  }
  const home = homeShims();
  const stale = value === home.c || value === home.node ? shimHomeStale() : null;
  if (stale) {
    return check(
      name,
      'warn',
      `the ${kind === 'c' ? 'C' : 'Node'} shim ran here, but ${stale}`,
      "run 'git fsmond enable' to install this version's shim",
    );
  }
  if (kind === 'c') {
    const built = shimBuild();
    if (built?.libc.startsWith('musl')) {
      return check(
        name,
        'ok',
        'the C shim ran here: a static musl build (~0.7 ms per git command)',
      );
    }
    // ok, not warn: only machines where CPUID traps (most VMs) pay glibc's start-up cost.
    return check(
      name,
      'ok',
      `the C shim ran here, built with ${built ? `${path.basename(built.compiler)} (${built.libc})` : 'an unknown compiler'}`,
      "for a faster start in a VM: install musl-gcc (Debian: musl-tools) and run 'git fsmond enable'",
    );
  }
  if (kind === 'node' && best.kind === 'c') {
    return check(
      name,
      'warn',
      'the Node shim ran here, although the C one is built',
      "run 'git fsmond enable' again",
    );
  }
  if (kind === 'node') {
    return check(
      name,
      'warn',
      'the Node shim ran here (a node start-up, tens of ms, per git command): no C shim could be built or run here',
      "install cc (best: musl-gcc), then run 'git fsmond enable'",
    );
  }
  if (kind === 'other') {
    // Set, so git pays for a hook on every command, but it never asks our daemon.
    return check(
      name,
      'warn',
      "git runs another fsmonitor hook, not git-fsmond's shim: the daemon is never asked",
      "run 'git fsmond enable' (disable puts the other hook back)",
    );
  }
  return check(name, 'ok', kind === 'ipc' ? 'none: git uses IPC' : 'none in use');
}
