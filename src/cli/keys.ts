/**
 * Every git config key git-fsmond reads, with its default, for `doctor` (which flags values the
 * daemon would silently replace by the default) and README.md. The daemon's parsing lives
 * in src/daemon/settings.ts: keep the two in step.
 */
export interface KeyInfo {
  key: string;
  default: string;
  meaning: string;
  /** Why the value is unusable, or null when it is fine. */
  invalid?: (value: string) => string | null;
}

/** git-style integers (`configInt`): digits with an optional k/m/g suffix, and above zero. */
function positiveInt(value: string): string | null {
  const m = /^(-?\d+)([kmg]?)$/i.exec(value.trim());
  if (!m) return 'not an integer (k/m/g suffixes allowed), so the default is used';
  return Number(m[1]) > 0 ? null : 'not above zero';
}

function oneOf(...allowed: string[]) {
  return (value: string) =>
    allowed.includes(value.toLowerCase())
      ? null
      : `not one of ${allowed.join(', ')}, so the default is used`;
}

function bool(value: string): string | null {
  const v = value.trim().toLowerCase();
  if (['true', 'yes', 'on', 'false', 'no', 'off', ''].includes(v)) return null;
  return /^-?\d+$/.test(v) ? null : 'not a boolean, so the default is used';
}

export const SETTINGS: readonly KeyInfo[] = [
  {
    key: 'fsmond.logLevel',
    default: 'info',
    meaning: 'daemon log verbosity: debug, info, warn or error',
    invalid: oneOf('debug', 'info', 'warn', 'error'),
  },
  {
    key: 'fsmond.logMaxBytes',
    default: '1m',
    meaning: 'the daemon log is rotated to daemon.log.1 beyond this size (at least 4k)',
    invalid: positiveInt,
  },
  {
    key: 'fsmond.cookieTimeoutMs',
    default: '1000',
    meaning: 'how long a query waits for its cookie event before answering / (rescan)',
    invalid: positiveInt,
  },
  {
    key: 'fsmond.readyTimeoutMs',
    default: '1000',
    meaning: 'how long a query waits for the first watch registration before answering /',
    invalid: positiveInt,
  },
  {
    key: 'fsmond.maxRetainedPaths',
    default: '500000',
    meaning: 'changed paths kept in the change log; older tokens are answered with /',
    invalid: positiveInt,
  },
  {
    key: 'fsmond.answerCacheBytes',
    default: '32m',
    meaning: 'memory for cached answers (git often asks the same token twice)',
    invalid: positiveInt,
  },
  {
    key: 'fsmond.backend',
    default: 'inotify on Linux, parcel elsewhere',
    meaning: 'watch backend: inotify or parcel (parcel loses events on Linux)',
    invalid: oneOf('inotify', 'parcel'),
  },
  {
    key: 'fsmonitor.allowRemote',
    default: 'false',
    meaning: "git's own key: watch a worktree on a network filesystem anyway",
    invalid: bool,
  },
  {
    key: 'fsmonitor.socketDir',
    default: '$HOME',
    meaning:
      "git's own key: where the socket goes when the git dir's filesystem cannot hold one (as .git-fsmonitor-<sha1 of the worktree path>)",
  },
];

/** Keys the CLI writes itself; not settings, but not typos either. */
export const BOOKKEEPING: readonly KeyInfo[] = [
  {
    key: 'fsmond.worktree',
    default: '(none)',
    meaning:
      'global, one per enabled worktree: written by enable, removed by disable, read by list',
  },
  {
    key: 'fsmond.changed',
    default: '(none)',
    meaning: 'the keys enable set in this config file, so that disable undoes only those',
  },
  {
    key: 'fsmond.saved-<section>-<key>',
    default: '(none)',
    meaning: 'a value enable replaced, which disable puts back',
  },
];

/** Problems with the `fsmond.*` keys of a config map (lower-cased names, as readConfig gives). */
export function settingProblems(config: Map<string, string>): string[] {
  const problems: string[] = [];
  const byName = new Map([...SETTINGS, ...BOOKKEEPING].map((k) => [k.key.toLowerCase(), k]));
  for (const [key, value] of config) {
    if (!key.startsWith('fsmond.') && key !== 'fsmonitor.allowremote') continue;
    if (key.startsWith('fsmond.saved-')) continue;
    const info = byName.get(key);
    if (!info) problems.push(`unknown key ${key}`);
    else if (info.invalid?.(value)) {
      problems.push(`${info.key}=${value} is ${info.invalid(value)}`);
    }
  }
  return problems;
}
