/**
 * A git >= 2.55 (the first with `core.fsmonitor=true` on Linux) for the tests of IPC mode: the
 * build tree GIT_FSMOND_COMPAT_GIT names, else the one this project's machines build at
 * /work/build/git-2.55.0. CI has neither: the tests then skip, saying so.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const DEFAULT_TREE = '/work/build/git-2.55.0';

export interface CompatGit {
  /** The git binary of the tree. */
  bin: string;
  /** Its exec path, so that its own sub-commands (fsmonitor--daemon) come from the tree too. */
  env: Record<string, string>;
  version: string;
}

export function findCompatGit(): CompatGit | { skip: string } {
  const tree =
    process.env.GIT_FSMOND_COMPAT_GIT || (fs.existsSync(DEFAULT_TREE) ? DEFAULT_TREE : '');
  if (!tree) {
    return { skip: `no git >= 2.55: set GIT_FSMOND_COMPAT_GIT to a built git source tree` };
  }
  const bin = path.join(tree, 'git');
  const env = { GIT_EXEC_PATH: tree };
  let out: string;
  try {
    out = execFileSync(bin, ['version', '--build-options'], {
      encoding: 'utf8',
      env: { ...process.env, ...env },
    });
  } catch (err) {
    return { skip: `'${bin} version' failed: ${(err as Error).message.split('\n')[0]}` };
  }
  const version = /git version (\d+)\.(\d+)/.exec(out);
  const [major, minor] = [Number(version?.[1]), Number(version?.[2])];
  if (!version || major < 2 || (major === 2 && minor < 55)) {
    return { skip: `${bin} is not git >= 2.55 (${out.split('\n')[0]})` };
  }
  if (!/^feature: fsmonitor--daemon$/m.test(out)) {
    return { skip: `${bin} was built without fsmonitor--daemon` };
  }
  return { bin, env, version: `${major}.${minor}` };
}

/** A program on PATH, or null. */
export function onPath(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    const p = path.join(dir, name);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return null;
}

/**
 * How often git started its builtin daemon, by its trace2 event log: `child_start` events
 * whose argv runs `fsmonitor--daemon` (fsmonitor-ipc.c, spawn_daemon).
 */
export function builtinSpawns(traceFile: string): number {
  if (!fs.existsSync(traceFile)) return 0;
  let n = 0;
  for (const line of fs.readFileSync(traceFile, 'utf8').split('\n')) {
    if (!line) continue;
    const ev = JSON.parse(line) as { event?: string; argv?: string[] };
    if (ev.event === 'child_start' && ev.argv?.includes('fsmonitor--daemon')) n++;
  }
  return n;
}
