import { bestShim, gitConfigGet, gitConfigSet, gitConfigUnset, type Scope } from './config.js';

/** What `enable` sets; `disable` undoes exactly these, and only where they still hold. */
function wanted(shimPath: string): Array<[string, string]> {
  return [
    ['core.fsmonitor', shimPath],
    ['core.fsmonitorHookVersion', '2'],
    ['core.untrackedCache', 'true'],
  ];
}

const savedKey = (key: string) => `fsmond.saved-${key.replace('.', '-')}`;
const CHANGED = 'fsmond.changed';

export interface ConfigChange {
  key: string;
  from: string | null;
  to: string | null;
}

export async function enableConfig(cwd: string, scope: Scope): Promise<ConfigChange[]> {
  const shim = bestShim();
  const changes: ConfigChange[] = [];
  const changed = new Set(
    ((await gitConfigGet(cwd, scope, CHANGED)) ?? '').split(',').filter(Boolean),
  );
  for (const [key, value] of wanted(shim.path)) {
    const before = await gitConfigGet(cwd, scope, key);
    if (before === value) continue;
    if (before !== null && !changed.has(key)) await gitConfigSet(cwd, scope, savedKey(key), before);
    await gitConfigSet(cwd, scope, key, value);
    changed.add(key);
    changes.push({ key, from: before, to: value });
  }
  if (changed.size) await gitConfigSet(cwd, scope, CHANGED, [...changed].join(','));
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
    const stillOurs = key === 'core.fsmonitor' ? isOurShim(now) : now === ours.get(key);
    if (stillOurs) {
      if (saved === null) await gitConfigUnset(cwd, scope, key);
      else await gitConfigSet(cwd, scope, key, saved);
      changes.push({ key, from: now, to: saved });
    }
    await gitConfigUnset(cwd, scope, savedKey(key));
  }
  await gitConfigUnset(cwd, scope, CHANGED);
  return changes;
}

function isOurShim(value: string | null): boolean {
  return value !== null && /hooks\/(bin\/fsmond-hook|fsmond-hook\.cjs)$/.test(value);
}
