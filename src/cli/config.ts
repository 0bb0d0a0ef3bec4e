import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { PACKAGE_ROOT } from './control.js';

const run = promisify(execFile);

export type Scope = '--local' | '--global';

export async function gitConfigGet(cwd: string, scope: Scope, key: string): Promise<string | null> {
  try {
    return (await run('git', ['config', scope, '--get', key], { cwd })).stdout.replace(/\n$/, '');
  } catch {
    return null;
  }
}

export async function gitConfigSet(cwd: string, scope: Scope, key: string, value: string) {
  await run('git', ['config', scope, key, value], { cwd });
}

export async function gitConfigUnset(cwd: string, scope: Scope, key: string) {
  await run('git', ['config', scope, '--unset-all', key], { cwd }).catch(() => {});
}

export interface Shim {
  kind: 'c' | 'node';
  path: string;
}

export const C_SHIM = path.join(PACKAGE_ROOT, 'hooks', 'bin', 'fsmond-hook');
export const NODE_SHIM = path.join(PACKAGE_ROOT, 'hooks', 'fsmond-hook.cjs');

/** The compiled shim when the install could build it (0.5 ms), else the Node one (~25 ms). */
export function bestShim(): Shim {
  try {
    fs.accessSync(C_SHIM, fs.constants.X_OK);
    return { kind: 'c', path: C_SHIM };
  } catch {
    return { kind: 'node', path: NODE_SHIM };
  }
}

export function shimKind(configured: string | null): Shim['kind'] | 'other' | 'none' {
  if (!configured) return 'none';
  if (configured === C_SHIM) return 'c';
  if (configured === NODE_SHIM) return 'node';
  return 'other';
}

/** git runs a hook path containing any of these through `sh -c`, which costs 1-2 ms more. */
export function needsShell(p: string): boolean {
  return /[|&;<>()$`\\"' \t\n*?[#~=%]/.test(p);
}
