/**
 * The one table of every git config key the daemon reads: its type, default, allowed range and
 * help. The daemon's Settings, `doctor`'s checks and the README's configuration table all come
 * from it (test/unit/settings-table.test.ts fails when the README drifts).
 *
 * Repository config is attacker-controlled in a cloned or shared repository, so every number
 * is clamped into its range: a huge timeout would overflow Node's timer (which then fires at
 * once) and a tiny cache or log limit would make the daemon spin.
 */
import { HOOK_LIMITS } from '../contract/index.js';
import { LEVELS, type Level } from './logger.js';

/**
 * The daemon's own waits before answering (ready + cookie) must end inside the shim's wait for
 * the first byte, so that a slow daemon answers `/` before the shim gives up on it.
 */
export const FIRST_BYTE_BUDGET_MS = HOOK_LIMITS.firstByteMs;

/** git's boolean: true/yes/on/any non-zero integer, false/no/off/0/empty; null if neither. */
export function parseBool(value: string): boolean | null {
  const v = value.trim().toLowerCase();
  if (v === 'true' || v === 'yes' || v === 'on') return true;
  if (v === 'false' || v === 'no' || v === 'off' || v === '') return false;
  return /^-?\d+$/.test(v) ? Number(v) !== 0 : null;
}

const SUFFIX: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** git's integer: digits with an optional k/m/g suffix (powers of 1024); null if not one. */
export function parseInteger(value: string): number | null {
  const m = /^([-+]?\d+)([kmg]?)$/i.exec(value.trim());
  if (!m) return null;
  const n = Number(m[1]) * SUFFIX[m[2]!.toLowerCase()]!;
  return Number.isSafeInteger(n) ? n : Math.sign(n) * Number.MAX_SAFE_INTEGER;
}

const UNIT_S: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: 86_400 };

/** A duration in seconds: `90`, `90s`, `30m`, `4h`, `2d`; null if not one. */
export function parseDuration(value: string): number | null {
  const m = /^(\d+)\s*([smhd]?)$/i.exec(value.trim());
  if (!m) return null;
  const n = Number(m[1]) * UNIT_S[m[2]!.toLowerCase()]!;
  return Number.isSafeInteger(n) ? n : Number.MAX_SAFE_INTEGER;
}

/** Seconds in the largest unit that divides them: 14400 -> `4h`. */
function showDuration(s: number): string {
  for (const [unit, mult] of [
    ['d', 86_400],
    ['h', 3600],
    ['m', 60],
  ] as const) {
    if (s >= mult && s % mult === 0) return `${s / mult}${unit}`;
  }
  return `${s}s`;
}

interface Common {
  /** As git spells it in documentation; config maps hold it lower-cased. */
  key: string;
  help: string;
}
export interface IntSetting extends Common {
  type: 'int';
  default: number;
  min: number;
  max: number;
  /** Byte counts are shown with git's k/m/g suffixes. */
  bytes?: boolean;
}
export interface BoolSetting extends Common {
  type: 'bool';
  default: boolean;
}
export interface EnumSetting extends Common {
  type: 'enum';
  values: readonly string[];
  /** Undefined: decided at run time, as `defaultText` says. */
  default: string | undefined;
  defaultText?: string;
}
export interface PathSetting extends Common {
  type: 'path';
  defaultText: string;
  /** What it accepts when that is more than a directory. */
  allowedText?: string;
}
/** In seconds; 0 means never, anything else is clamped into min..max. */
export interface DurationSetting extends Common {
  type: 'duration';
  default: number;
  min: number;
  max: number;
}
export type SettingDef = IntSetting | BoolSetting | EnumSetting | PathSetting | DurationSetting;

export const SETTINGS = {
  logLevel: {
    key: 'fsmond.logLevel',
    type: 'enum',
    values: LEVELS,
    default: 'info',
    help: 'daemon log verbosity',
  },
  logMaxBytes: {
    key: 'fsmond.logMaxBytes',
    type: 'int',
    default: 1 << 20,
    // At least 4 KiB, so that rotation can never spin on a single line.
    min: 4 << 10,
    max: 1 << 30,
    bytes: true,
    help: 'the log is rotated to `daemon.log.1` beyond this size',
  },
  cookieTimeoutMs: {
    key: 'fsmond.cookieTimeoutMs',
    type: 'int',
    default: 550,
    min: 10,
    max: 10_000,
    help: 'how long a query waits for its cookie event before answering `/`',
  },
  readyTimeoutMs: {
    key: 'fsmond.readyTimeoutMs',
    type: 'int',
    default: 250,
    min: 0,
    max: 10_000,
    help: 'how long a query waits for the first watch registration before answering `/`',
  },
  maxRetainedPaths: {
    key: 'fsmond.maxRetainedPaths',
    type: 'int',
    default: 500_000,
    min: 1_000,
    max: 20_000_000,
    help: 'changed paths kept in the change log; tokens older than that history get `/`',
  },
  answerCacheBytes: {
    key: 'fsmond.answerCacheBytes',
    type: 'int',
    default: 32 << 20,
    min: 1 << 20,
    max: 1 << 30,
    bytes: true,
    help: 'memory for cached answers (git often asks the same token twice)',
  },
  idleTimeout: {
    key: 'fsmond.idleTimeout',
    type: 'duration',
    // Longer than a lunch break and a block of meetings, shorter than a night: a repository
    // touched once (a global enable starts a daemon in each) does not hold a process overnight.
    // Watchman reaps an idle watch only after 5 days, but its watches share one process; ours
    // cost a process each, and a restart costs one scan.
    default: 4 * 3600,
    min: 1,
    max: 30 * 86_400,
    help: 'a daemon with no query for this long exits (the next git command starts it again); `0` never',
  },
  smallRepoEntries: {
    key: 'fsmond.smallRepoEntries',
    type: 'int',
    // Off by default: measured, git's rescan after `/` (an lstat per entry and an index write)
    // is no faster than the round trip at 200 entries and slower at 1000; what it saves is a
    // daemon process per small repository (README "Small repositories").
    default: 0,
    min: 0,
    max: 1_000_000,
    help: 'below this many index entries the shims answer `/` without asking, so no daemon needs to run there; read at daemon start; `0` never',
  },
  enableMinEntries: {
    key: 'fsmond.enableMinEntries',
    type: 'int',
    // The crossover measured on a quiet machine (README "Small repositories"): below about
    // 5000 entries git's own lstat scan costs less than spawning any hook, so a monitor there
    // only adds time. Read by `enable`, not by the daemon.
    default: 5000,
    min: 0,
    max: 1_000_000,
    help: 'below this many index entries `enable` (without `--force`) leaves a repository alone: git scans it faster than it runs any monitor; `0` always enables',
  },
  backend: {
    key: 'fsmond.backend',
    type: 'enum',
    values: ['inotify', 'parcel'],
    default: undefined,
    defaultText: '`inotify` on Linux, `parcel` elsewhere',
    help: 'the watch backend (`parcel` loses events on Linux: tests only)',
  },
  scanHelperAfterMs: {
    key: 'fsmond.scanHelperAfterMs',
    type: 'int',
    // The helper needs ~80 ms to start and its JIT to warm up: at 100k files (a 0.12 s scan)
    // starting it at 50 ms made the scan slower (0.16-0.20 s); at 1M it takes the scan from
    // 1.2 s to 0.68 s when started at 50 ms, 0.74 s at 150 ms, 0.80 s at 250 ms
    // (docs/linux-watching.md).
    default: 150,
    min: -1,
    max: 60_000,
    help: 'a full scan (at start, after lost sync) still running after this many milliseconds hands the directory listings to a helper process on another core; `0` all of them from the start, `-1` never',
  },
  allowRemote: {
    key: 'fsmonitor.allowRemote',
    type: 'bool',
    default: false,
    help: "git's own key: watch a worktree on a network filesystem anyway (changes made on other machines go unseen)",
  },
  trace: {
    key: 'fsmond.trace',
    type: 'path',
    defaultText: 'unset',
    allowedText: '`true` or an absolute file path',
    help: "write the `event:` lines of git's `GIT_TRACE_FSMONITOR` (which wins when set in the daemon's environment): `true` to the daemon log, or to a file",
  },
  socketDir: {
    key: 'fsmonitor.socketDir',
    type: 'path',
    defaultText: '`$HOME`',
    help: "git's own key: where the socket goes when the git dir's filesystem cannot hold one, as `.git-fsmonitor-<sha1 of the worktree path>`",
  },
} as const satisfies Record<string, SettingDef>;

type Table = typeof SETTINGS;
type ValueOf<D> = D extends IntSetting | DurationSetting
  ? number
  : D extends BoolSetting
    ? boolean
    : D extends EnumSetting
      ? D['values'][number] | (undefined extends D['default'] ? undefined : never)
      : string | undefined;

/** Every knob lives in git config; these are what the table makes of it. */
export type Settings = { [K in keyof Table]: ValueOf<Table[K]> } & {
  logLevel: Level;
  healthIntervalMs: number;
  /** A request is a token: anything bigger is an attack or a bug, and is dropped. */
  maxRequestBytes: number;
  /** A client that has not sent a whole request by then is dropped. */
  requestTimeoutMs: number;
};

/** How a default or limit reads in git config (and in the README). */
export function showValue(def: SettingDef, n: number | boolean | string | undefined): string {
  if (def.type === 'duration' && typeof n === 'number') return n === 0 ? '0' : showDuration(n);
  if (def.type === 'int' && def.bytes && typeof n === 'number') {
    for (const [s, mult] of [
      ['g', 1 << 30],
      ['m', 1 << 20],
      ['k', 1 << 10],
    ] as const) {
      if (n >= mult && n % mult === 0) return `${n / mult}${s}`;
    }
  }
  return String(n);
}

export interface Reading<V> {
  value: V;
  /** Why the configured value was not used as it is, or null when it was. */
  problem: string | null;
}

function clampInto(def: IntSetting | DurationSetting, n: number): Reading<number> {
  const clamped = Math.min(def.max, Math.max(def.min, n));
  if (clamped === n) return { value: n, problem: null };
  const limit = n < def.min ? 'below the minimum' : 'above the maximum';
  const shown = showValue(def, clamped);
  return { value: clamped, problem: `${limit} ${shown}, so ${shown} is used` };
}

/** One configured value through its definition: parsed, clamped, or replaced by the default. */
export function readSetting<D extends SettingDef>(
  def: D,
  raw: string | undefined,
): Reading<ValueOf<D>> {
  const fallback = (why: string | null) => ({
    value: ('default' in def ? def.default : undefined) as ValueOf<D>,
    problem: why && `${why}, so the default is used`,
  });
  if (raw === undefined) return fallback(null);
  switch (def.type) {
    case 'int': {
      const n = parseInteger(raw);
      if (n === null) return fallback('not an integer (k/m/g suffixes allowed)');
      return clampInto(def, n) as Reading<ValueOf<D>>;
    }
    case 'duration': {
      const n = parseDuration(raw);
      if (n === null) return fallback('not a duration (seconds, or a number with s, m, h or d)');
      if (n === 0) return { value: 0 as ValueOf<D>, problem: null };
      return clampInto(def, n) as Reading<ValueOf<D>>;
    }
    case 'bool': {
      const b = parseBool(raw);
      return b === null ? fallback('not a boolean') : { value: b as ValueOf<D>, problem: null };
    }
    case 'enum': {
      const v = raw.trim().toLowerCase();
      return def.values.includes(v)
        ? { value: v as ValueOf<D>, problem: null }
        : fallback(`not one of ${def.values.join(', ')}`);
    }
    case 'path':
      return { value: raw as ValueOf<D>, problem: null };
  }
}

/** A config map (lower-cased names, as readConfig gives) made into Settings. */
export function settingsFrom(config: Map<string, string>): Settings {
  const read = <K extends keyof Table>(k: K) =>
    readSetting(SETTINGS[k], config.get(SETTINGS[k].key.toLowerCase())).value;
  return {
    logLevel: read('logLevel') as Level,
    logMaxBytes: read('logMaxBytes'),
    cookieTimeoutMs: read('cookieTimeoutMs'),
    readyTimeoutMs: read('readyTimeoutMs'),
    maxRetainedPaths: read('maxRetainedPaths'),
    answerCacheBytes: read('answerCacheBytes'),
    idleTimeout: read('idleTimeout'),
    smallRepoEntries: read('smallRepoEntries'),
    enableMinEntries: read('enableMinEntries'),
    backend: read('backend'),
    scanHelperAfterMs: read('scanHelperAfterMs'),
    allowRemote: read('allowRemote'),
    socketDir: read('socketDir'),
    trace: read('trace'),
    healthIntervalMs: 500,
    maxRequestBytes: 64 * 1024,
    requestTimeoutMs: 5_000,
  };
}

/** What a setting accepts, as the README and `doctor` say it. */
export function allowedText(def: SettingDef): string {
  switch (def.type) {
    case 'int':
      return `${showValue(def, def.min)} to ${showValue(def, def.max)}${def.bytes ? ' (k/m/g)' : ''}`;
    case 'duration':
      return `\`0\` or ${showValue(def, def.min)} to ${showValue(def, def.max)} (s, m, h, d)`;
    case 'enum':
      return def.values.map((v) => `\`${v}\``).join(', ');
    case 'bool':
      return 'a boolean';
    case 'path':
      return def.allowedText ?? 'a directory';
  }
}

/** The README's configuration table, row for row. */
export function settingsMarkdown(): string {
  const rows = Object.values(SETTINGS as Record<string, SettingDef>).map((def) => {
    const text = 'defaultText' in def ? def.defaultText : undefined;
    const shown = text ?? `\`${showValue(def, 'default' in def ? def.default : undefined)}\``;
    return `| \`${def.key}\` | ${shown} | ${allowedText(def)} | ${def.help} |`;
  });
  return ['| key | default | allowed | meaning |', '|---|---|---|---|', ...rows].join('\n');
}
