import { configBool, configInt } from '../git/index.js';
import { type Level, parseLevel } from './logger.js';

/** Every knob lives in git config under `fsmond.*`; these are the defaults. */
export interface Settings {
  logLevel: Level;
  logMaxBytes: number;
  /** How long a query waits for a cookie before answering `/`. */
  cookieTimeoutMs: number;
  /** How long a query waits for the first watch registration before answering `/`. */
  readyTimeoutMs: number;
  maxRetainedPaths: number;
  answerCacheBytes: number;
  healthIntervalMs: number;
  allowRemote: boolean;
  /** git's `fsmonitor.socketDir`: used only when the git dir cannot hold the socket. */
  socketDir: string | undefined;
  /** A request is a token: anything bigger is an attack or a bug, and is dropped. */
  maxRequestBytes: number;
  /** A client that has not sent a whole request by then is dropped. */
  requestTimeoutMs: number;
  backend: 'inotify' | 'parcel' | undefined;
}

export function settingsFrom(config: Map<string, string>): Settings {
  const backend = config.get('fsmond.backend');
  return {
    logLevel: parseLevel(config.get('fsmond.loglevel')),
    // At least 4 KiB, so that rotation can never spin on a single line.
    logMaxBytes: Math.max(4096, configInt(config.get('fsmond.logmaxbytes'), 1 << 20)),
    cookieTimeoutMs: configInt(config.get('fsmond.cookietimeoutms'), 1000),
    readyTimeoutMs: configInt(config.get('fsmond.readytimeoutms'), 1000),
    maxRetainedPaths: configInt(config.get('fsmond.maxretainedpaths'), 500_000),
    answerCacheBytes: configInt(config.get('fsmond.answercachebytes'), 32 << 20),
    healthIntervalMs: 500,
    allowRemote: configBool(config.get('fsmonitor.allowremote'), false),
    socketDir: config.get('fsmonitor.socketdir'),
    maxRequestBytes: 64 * 1024,
    requestTimeoutMs: 5_000,
    backend: backend === 'inotify' || backend === 'parcel' ? backend : undefined,
  };
}
