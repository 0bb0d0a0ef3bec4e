/**
 * The ways `git status` runs in one comparison: no monitor and git's floor (a no-op hook) for
 * each git, then every monitor over git's socket (git >= 2.55, `core.fsmonitor=true`) when it
 * serves one and through its hook for each git when it has one.
 */
import fs from 'node:fs';
import path from 'node:path';
import { type GitBin, gitLabel } from './gits.js';
import { type Monitor, statusArgv } from './monitor.js';

export interface Mode {
  key: string;
  name: string;
  git: GitBin;
  root: string;
  /** `false`, `true` (the socket), a hook path, or null: the repository's own config. */
  fsmonitor: string | null;
  /** `NAME=value` for git and its hook. */
  env: string[];
  monitor?: Monitor;
  /** The no-op hook reports nothing: right only when nothing changed. */
  noChangeOnly?: true;
}

export const noneKey = (g: GitBin) => `none-${g.version}`;

/** A hook that costs nothing and reports nothing: what git itself costs with a free fsmonitor. */
export function writeNoopHook(dir: string): string {
  const hook = path.join(dir, 'noop-hook');
  fs.writeFileSync(hook, `#!/bin/sh\nprintf '%s\\0' "\${2:-noop}"\n`, { mode: 0o755 });
  return hook;
}

export function listModes(
  gits: GitBin[],
  git255: GitBin | undefined,
  monitors: Monitor[],
  baseRoot: string,
  noopHook: string,
): Mode[] {
  const modes: Mode[] = [];
  for (const git of gits) {
    const v = gitLabel(git);
    modes.push({
      key: noneKey(git),
      name: `none, ${v}`,
      git,
      root: baseRoot,
      fsmonitor: 'false',
      env: [],
    });
  }
  for (const git of gits) {
    modes.push({
      key: `floor-${git.version}`,
      name: `no-op sh hook, ${gitLabel(git)}`,
      git,
      root: baseRoot,
      fsmonitor: noopHook,
      env: [],
      noChangeOnly: true,
    });
  }
  for (const monitor of monitors) {
    const { root } = monitor;
    if (monitor.ipc && git255) {
      const name = monitor.key === 'builtin' ? monitor.name : `${monitor.name}, socket`;
      modes.push({
        key: `${monitor.key}-ipc`,
        name: `${name}, ${gitLabel(git255)}`,
        git: git255,
        root,
        fsmonitor: 'true',
        env: [],
        monitor,
      });
    }
    const hook = monitor.hook;
    if (!hook) continue;
    for (const git of gits) {
      modes.push({
        key: `${monitor.key}-hook-${git.version}`,
        name: `${monitor.name}, hook, ${gitLabel(git)}`,
        git,
        root,
        fsmonitor: hook.path,
        env: hook.env,
        monitor,
      });
    }
  }
  return modes;
}

/** Each mode's own index (a status without fsmonitor would strip another mode's token). */
export const indexOf = (m: Mode) => path.join(m.root, '.git', `bench-index-${m.key}`);

export const statusOf = (m: Mode) => statusArgv(m.git, m.root, indexOf(m), m.fsmonitor, m.env);

/** Fresh copies of each repository's base index for every mode. */
export function resetIndexes(modes: Mode[]): void {
  for (const m of modes) fs.copyFileSync(path.join(m.root, '.git', 'index'), indexOf(m));
}
