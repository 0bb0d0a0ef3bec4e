/**
 * The git config keys `doctor` knows: the daemon's settings (one table, src/daemon/settings.ts)
 * and the keys the CLI writes itself.
 */
import {
  FIRST_BYTE_BUDGET_MS,
  readSetting,
  SETTINGS,
  type SettingDef,
  settingsFrom,
} from '../daemon/index.js';

export interface KeyInfo {
  key: string;
  meaning: string;
}

/** Keys the CLI writes itself; not settings, but not typos either. */
export const BOOKKEEPING: readonly KeyInfo[] = [
  {
    key: 'fsmond.worktree',
    meaning:
      'global, one per enabled worktree: written by enable, removed by disable, read by list',
  },
  {
    key: 'fsmond.changed',
    meaning: 'the keys enable set in this config file, so that disable undoes only those',
  },
  {
    key: 'fsmond.saved-<section>-<key>',
    meaning: 'a value enable replaced, which disable puts back',
  },
];

const DEFS = new Map(
  Object.values(SETTINGS as Record<string, SettingDef>).map((d) => [d.key.toLowerCase(), d]),
);
const WRITTEN = new Set(BOOKKEEPING.map((k) => k.key.toLowerCase()));

/**
 * Problems with the `fsmond.*` keys (and git's `fsmonitor.*` ones we read) of a config map
 * (lower-cased names, as readConfig gives): unknown keys, and values the daemon does not use
 * as they are (unparsable: the default; out of range: clamped).
 */
export function settingProblems(config: Map<string, string>): string[] {
  const problems: string[] = [];
  for (const [key, value] of config) {
    const def = DEFS.get(key);
    if (def) {
      const { problem } = readSetting(def, value);
      if (problem) problems.push(`${def.key}=${value} is ${problem}`);
    } else if (key.startsWith('fsmond.') && !WRITTEN.has(key) && !key.startsWith('fsmond.saved-')) {
      problems.push(`unknown key ${key}`);
    }
  }
  return problems;
}

/** Valid values that still make the daemon answer `/` far more often than it must. */
export function settingWarnings(
  config: Map<string, string>,
  platform = process.platform,
): string[] {
  const s = settingsFrom(config);
  const warnings: string[] = [];
  const waits = s.readyTimeoutMs + s.cookieTimeoutMs;
  if (waits >= FIRST_BYTE_BUDGET_MS) {
    warnings.push(
      `${SETTINGS.readyTimeoutMs.key} + ${SETTINGS.cookieTimeoutMs.key} = ${waits} ms, not below the ${FIRST_BYTE_BUDGET_MS} ms the hook shim waits for an answer: a slow query is cut off instead of answered /`,
    );
  }
  if (s.backend === 'parcel' && platform === 'linux') {
    warnings.push(
      `${SETTINGS.backend.key}=parcel loses events on Linux: most answers are / (a full rescan each time); unset it to use inotify`,
    );
  }
  return warnings;
}
