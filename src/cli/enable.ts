import {
  bestShim,
  gitConfigGet,
  gitConfigSet,
  gitConfigUnset,
  isOurShim,
  type Scope,
} from './config.js';
import { IPC_MONITOR } from './ipc-mode.js';

/** What `enable` sets; `disable` undoes exactly these, and only where they still hold. */
function wanted(shimPath: string): Array<[string, string]> {
  return [
    ['core.fsmonitor', shimPath],
    ['core.fsmonitorHookVersion', '2'],
    ['core.untrackedCache', 'true'],
  ];
}

/** Where `enable` keeps a value it replaced, so that `disable` can put it back. */
export const savedKey = (key: string) => `fsmond.saved-${key.replace('.', '-')}`;
/** The keys `enable` set (comma-separated): `disable` touches nothing else. */
export const CHANGED = 'fsmond.changed';

export interface ConfigChange {
  key: string;
  /** `kept`: the user changed the value after `enable`, so `disable` left it alone. */
  action: 'set' | 'unset' | 'restored' | 'kept';
  from: string | null;
  to: string | null;
}

/** `monitor`: the shim's path (hook mode) or `true` (IPC mode, docs/ipc-mode.md). */
export async function enableConfig(
  cwd: string,
  scope: Scope,
  monitor = bestShim().path,
): Promise<ConfigChange[]> {
  const changes: ConfigChange[] = [];
  const changed = new Set(
    ((await gitConfigGet(cwd, scope, CHANGED)) ?? '').split(',').filter(Boolean),
  );
  for (const [key, value] of wanted(monitor)) {
    const before = await gitConfigGet(cwd, scope, key);
    if (before === value) continue;
    // Only the user's value is worth saving; a second `enable` must not save ours over it.
    if (before !== null && !changed.has(key)) await gitConfigSet(cwd, scope, savedKey(key), before);
    await gitConfigSet(cwd, scope, key, value);
    changed.add(key);
    changes.push({ key, action: 'set', from: before, to: value });
  }
  if (changes.length) await gitConfigSet(cwd, scope, CHANGED, [...changed].join(','));
  return changes;
}

export async function disableConfig(cwd: string, scope: Scope): Promise<ConfigChange[]> {
  const changed = ((await gitConfigGet(cwd, scope, CHANGED)) ?? '').split(',').filter(Boolean);
  const changes: ConfigChange[] = [];
  const ours = new Map(wanted(bestShim().path));
  for (const key of changed) {
    const now = await gitConfigGet(cwd, scope, key);
    const saved = await gitConfigGet(cwd, scope, savedKey(key));
    // A value the user changed after `enable` is theirs now: leave it.
    const stillOurs =
      key === 'core.fsmonitor' ? isOurShim(now) || now === IPC_MONITOR : now === ours.get(key);
    if (stillOurs) {
      if (saved === null) await gitConfigUnset(cwd, scope, key);
      else await gitConfigSet(cwd, scope, key, saved);
      changes.push({ key, action: saved === null ? 'unset' : 'restored', from: now, to: saved });
    } else if (now !== null) {
      changes.push({ key, action: 'kept', from: now, to: now });
    }
    await gitConfigUnset(cwd, scope, savedKey(key));
  }
  await gitConfigUnset(cwd, scope, CHANGED);
  return changes;
}

export function describeChange(c: ConfigChange, where: string): string {
  switch (c.action) {
    case 'set':
      return `set ${c.key}=${c.to} in ${where} (was ${c.from === null ? 'unset' : c.from})`;
    case 'unset':
      return `unset ${c.key} in ${where}`;
    case 'restored':
      return `restored ${c.key}=${c.to} in ${where}`;
    case 'kept':
      return `left ${c.key}=${c.to} in ${where} alone: it was changed after enable`;
  }
}
