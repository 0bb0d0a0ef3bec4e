import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { shimHomeFile } from '../contract/index.js';
import { parseBool } from '../daemon/index.js';
import { CliError, PACKAGE_ROOT } from './control.js';

const run = promisify(execFile);

export type Scope = '--local' | '--global';

/** Global config is read and written from `/`, so that no repository's state can get in. */
export const GLOBAL_CWD = '/';

type GitFailure = Error & { code?: number | string; stderr?: string };

function configError(err: unknown): CliError {
  const e = err as GitFailure;
  const line = (e.stderr ?? '').trim().split('\n')[0] || e.message;
  return new CliError(`git config failed: ${line.replace(/^(fatal|error): /, '')}`);
}

/** One value (the last one), or null when the key is unset; a broken config is an error. */
export async function gitConfigGet(cwd: string, scope: Scope | null, key: string) {
  const args = ['config', ...(scope ? [scope] : []), '--get', key];
  try {
    return (await run('git', args, { cwd })).stdout.replace(/\n$/, '');
  } catch (err) {
    if ((err as GitFailure).code === 1) return null; // git's "no such key"
    throw configError(err);
  }
}

/** Every value of a multi-valued key, NUL-separated on the wire so any path survives. */
export async function gitConfigGetAll(cwd: string, scope: Scope, key: string): Promise<string[]> {
  try {
    const { stdout } = await run('git', ['config', scope, '-z', '--get-all', key], { cwd });
    return stdout.split('\0').filter(Boolean);
  } catch (err) {
    if ((err as GitFailure).code === 1) return [];
    throw configError(err);
  }
}

/** `local`, `global`, `system`, `worktree` or `command`: where the effective value comes from. */
export async function gitConfigScope(cwd: string, key: string): Promise<string | null> {
  try {
    const { stdout } = await run('git', ['config', '--show-scope', '--get', key], { cwd });
    return stdout.split('\t')[0] || null;
  } catch {
    return null;
  }
}

export async function gitConfigSet(cwd: string, scope: Scope, key: string, value: string) {
  await run('git', ['config', scope, key, value], { cwd }).catch((err) => {
    throw configError(err);
  });
}

export async function gitConfigAdd(cwd: string, scope: Scope, key: string, value: string) {
  await run('git', ['config', scope, '--add', key, value], { cwd }).catch((err) => {
    throw configError(err);
  });
}

/** Unsets every value of `key`, or only those equal to `value`; an unset key is fine. */
export async function gitConfigUnset(cwd: string, scope: Scope, key: string, value?: string) {
  // A value pattern rather than --fixed-value, which needs git >= 2.30.
  const pattern = value === undefined ? [] : [`^${value.replace(/[.[\]{}()\\*+?^$|]/g, '\\$&')}$`];
  await run('git', ['config', scope, '--unset-all', key, ...pattern], { cwd }).catch((err) => {
    if ((err as GitFailure).code !== 5) throw configError(err); // 5: nothing to unset
  });
}

export interface Shim {
  kind: 'c' | 'node';
  path: string;
}

/** The package's own shims: `enable` copies them into the shim home; git never runs these. */
export const C_SHIM = path.join(PACKAGE_ROOT, 'hooks', 'bin', 'fsmond-hook');
export const NODE_SHIM = path.join(PACKAGE_ROOT, 'hooks', 'fsmond-hook.cjs');

/** Where git finds the shims: the per-user shim home, which outlives the package. */
export const homeShims = () => ({ c: shimHomeFile('cShim'), node: shimHomeFile('nodeShim') });

/** How hooks/build.mjs built the C shim of the shim home (build.json), or null if unknown. */
export function shimBuild(): { compiler: string; libc: string } | null {
  try {
    const info = path.join(path.dirname(homeShims().c), 'build.json');
    const v = JSON.parse(fs.readFileSync(info, 'utf8'));
    return typeof v?.compiler === 'string' && typeof v?.libc === 'string' ? v : null;
  } catch {
    return null;
  }
}

/**
 * The shim `enable` last proved to run here (its record names the C shim's source only then):
 * the compiled one (0.6-1.5 ms per git command), else the Node one (a node start-up, tens of ms).
 */
export function bestShim(): Shim {
  const { c, node } = homeShims();
  try {
    const record = JSON.parse(fs.readFileSync(shimHomeFile('record'), 'utf8'));
    fs.accessSync(c, fs.constants.X_OK);
    if (typeof record?.sourceSha256 === 'string') return { kind: 'c', path: c };
  } catch {
    // no record or no C shim: the Node one
  }
  return { kind: 'node', path: node };
}

/**
 * What a `core.fsmonitor` value means: one of our shims (of any installation: a reinstall may
 * move the package), git's own IPC (a true boolean), off (unset or false), or another hook.
 */
export type MonitorKind = 'c' | 'node' | 'ipc' | 'none' | 'other';

export function monitorKind(value: string | null): MonitorKind {
  if (value === null) return 'none';
  if (/\/hooks\/bin\/fsmond-hook$/.test(value)) return 'c';
  if (/\/hooks\/fsmond-hook\.cjs$/.test(value)) return 'node';
  const b = parseBool(value);
  return b === null ? 'other' : b ? 'ipc' : 'none';
}

export const isOurShim = (value: string | null) => {
  const kind = monitorKind(value);
  return kind === 'c' || kind === 'node';
};

/** git runs a hook path containing any of these through `sh -c`, which costs 1-2 ms more. */
export function needsShell(p: string): boolean {
  return /[|&;<>()$`\\"' \t\n*?[#~=%]/.test(p);
}
