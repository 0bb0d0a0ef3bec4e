/**
 * The small repository as a user gets it: `git fsmond enable` run in it (its own shim home, the
 * bench's HOME), then git with the repository's own config and no `-c` override. Below
 * fsmond.enableMinEntries enable leaves the repository alone, so this row shows what that
 * choice costs against no monitor, measured, not assumed.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import type { Context } from './context.js';
import { type GitBin, gitLabel } from './gits.js';
import type { Mode } from './modes.js';
import { LAUNCHER } from './monitor.js';

export interface Enabled {
  modes: Mode[];
  /** What enable printed first: "left this repository alone: ..." or the first key it set. */
  verdict: string;
  undo(): void;
}

export function enableAsUser(ctx: Context, root: string, gits: GitBin[]): Enabled {
  const env = { ...ctx.env, GIT_FSMOND_SHIM_HOME: path.join(ctx.scratch, 'shim-home') };
  const cli = (cmd: string) => {
    const r = spawnSync(LAUNCHER, [cmd], { cwd: root, env, encoding: 'utf8', timeout: 300_000 });
    if (r.status !== 0) throw new Error(`git fsmond ${cmd} failed: ${r.stderr || r.error}`);
    return r.stdout;
  };
  const verdict = cli('enable').split('\n')[0]!;
  const how = verdict.startsWith('left this repository alone') ? 'left alone' : 'enabled';
  const modes = gits.map(
    (git): Mode => ({
      key: `enabled-${git.version}`,
      name: `git-fsmond as \`enable\` sets it up (${how}), ${gitLabel(git)}`,
      git,
      root,
      fsmonitor: null,
      env: [],
    }),
  );
  return { modes, verdict, undo: () => void cli('disable') };
}
