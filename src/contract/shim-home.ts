import os from 'node:os';
import path from 'node:path';

/**
 * The per-user home of the shim git runs: core.fsmonitor points here, never into the package,
 * so that an upgrade (npm swaps the package directory) or an uninstall (npm runs no script of
 * ours) never leaves git with a hook it cannot run. The layout mirrors the package's, so both
 * shims find `bin/git-fsmond` where they always look (the C one three levels above its own
 * executable, the Node one beside `hooks/`): here it is a symlink to the installed package's
 * launcher, and when that dangles the shims answer `/` without a word.
 */
export const SHIM_HOME_LAYOUT = {
  cShim: 'hooks/bin/fsmond-hook',
  nodeShim: 'hooks/fsmond-hook.cjs',
  launcher: 'bin/git-fsmond',
  /** Which package built the shims, and from which source (JSON). */
  record: 'installed.json',
} as const;

/** Replaces the default location (tests, or a home directory on a shared filesystem). */
export const SHIM_HOME_ENV = 'GIT_FSMOND_SHIM_HOME';

/** $GIT_FSMOND_SHIM_HOME, else $XDG_DATA_HOME/git-fsmond, else ~/.local/share/git-fsmond. */
export function shimHome(): string {
  const override = process.env[SHIM_HOME_ENV];
  if (override && path.isAbsolute(override)) return override;
  const xdg = process.env.XDG_DATA_HOME;
  const data = xdg && path.isAbsolute(xdg) ? xdg : path.join(os.homedir(), '.local', 'share');
  return path.join(data, 'git-fsmond');
}

export const shimHomeFile = (name: keyof typeof SHIM_HOME_LAYOUT) =>
  path.join(shimHome(), SHIM_HOME_LAYOUT[name]);
