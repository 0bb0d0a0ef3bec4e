/**
 * The git binaries a run compares: the one on PATH (2.39 on Debian 12) and, when found, a git
 * >= 2.55 (the first release whose builtin daemon runs on Linux, and that talks to a daemon
 * over the socket with `core.fsmonitor=true`).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { gitEnv } from './synth.js';

export interface GitBin {
  path: string;
  /** `2.55.0` */
  version: string;
  /** `NAME=value` words for `env` before it (a build tree's GIT_EXEC_PATH). */
  env: string[];
}

const MIN_IPC = [2, 55] as const;
/** Where this project's machines keep a built git 2.55 (docs: README "Performance"). */
const DEFAULT_GIT255 = '/work/build/git-2.55.0/git';
export const GIT255_ENV = 'FSMOND_BENCH_GIT255';

export const gitLabel = (g: GitBin) => `git ${g.version}`;

/** The variables of `g.env` as an object, for spawn. */
export function envOf(g: GitBin): Record<string, string> {
  return Object.fromEntries(
    g.env.map((w) => [w.slice(0, w.indexOf('=')), w.slice(w.indexOf('=') + 1)]),
  );
}

/** `git version` of `bin`, or null when it does not run. */
export function probeGit(bin: string): GitBin | null {
  // A binary in a build tree finds its builtins' helpers only with GIT_EXEC_PATH.
  const dir = path.dirname(bin);
  const env = fs.existsSync(path.join(dir, 'GIT-BUILD-OPTIONS')) ? [`GIT_EXEC_PATH=${dir}`] : [];
  const g = { path: bin, version: '', env };
  const r = spawnSync(bin, ['version'], {
    encoding: 'utf8',
    env: gitEnv(envOf(g)),
    timeout: 10_000,
  });
  const m = r.status === 0 ? /(\d+)\.(\d+)(\.\d+)?/.exec(r.stdout) : null;
  return m ? { ...g, version: m[0] } : null;
}

export function atLeastIpc(g: GitBin): boolean {
  const [major, minor] = g.version.split('.').map(Number) as [number, number];
  return major > MIN_IPC[0] || (major === MIN_IPC[0] && minor >= MIN_IPC[1]);
}

export type Found = { ok: true; git: GitBin } | { ok: false; note: string };

/** --git255, else $FSMOND_BENCH_GIT255, else the build tree, else git on PATH if it is new enough. */
export function findGit255(given: string | undefined, system: GitBin): Found {
  const wanted = given ?? process.env[GIT255_ENV];
  const candidates = wanted ? [wanted] : [DEFAULT_GIT255];
  for (const c of candidates) {
    const g = fs.existsSync(c) ? probeGit(path.resolve(c)) : null;
    if (g && atLeastIpc(g)) return { ok: true, git: g };
    if (wanted) {
      return {
        ok: false,
        note: `${c} is ${g ? gitLabel(g) : 'not a working git'}; git >= ${MIN_IPC.join('.')} is needed`,
      };
    }
  }
  if (atLeastIpc(system)) return { ok: true, git: system };
  return {
    ok: false,
    note: `no git >= ${MIN_IPC.join('.')} (PATH has ${gitLabel(system)}; pass --git255 PATH or set ${GIT255_ENV})`,
  };
}
