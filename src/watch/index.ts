/**
 * Entry point of the watch part: pick a backend behind the one `Watcher` interface.
 *
 * Linux: our own inotify layer (default). @parcel/watcher loses events on Linux with no
 * signal (docs/linux-watching.md#why-not-parcel), so there it is used only when asked for.
 * macOS and Windows: @parcel/watcher with its native backend.
 */
import { InotifyWatcher, type InotifyWatcherOptions } from './inotify.js';
import { ParcelWatcher, type ParcelWatcherOptions } from './parcel.js';
import type { Watcher } from './types.js';

export type { InotifyWatcherOptions } from './inotify.js';
export type { ParcelBackend, ParcelWatcherOptions } from './parcel.js';
export type {
  InotifyLimits,
  WatchBatch,
  Watcher,
  WatcherOptions,
  WatcherStats,
  WatchListener,
} from './types.js';

export type WatchBackend = 'inotify' | 'parcel';

export type CreateWatcherOptions = InotifyWatcherOptions &
  ParcelWatcherOptions & {
    backend?: WatchBackend;
  };

export function defaultBackend(platform: NodeJS.Platform = process.platform): WatchBackend {
  return platform === 'linux' ? 'inotify' : 'parcel';
}

export function createWatcher(opts: CreateWatcherOptions): Watcher {
  const backend = opts.backend ?? defaultBackend();
  if (backend === 'inotify') {
    if (process.platform !== 'linux') throw new Error('the inotify backend needs Linux');
    return new InotifyWatcher(opts);
  }
  // Parcel on Linux only with an explicit inner backend (tests); never 'auto', which may pick
  // Watchman (docs/linux-watching.md, trap T2).
  const parcelBackend =
    opts.parcelBackend ?? (process.platform === 'linux' ? 'inotify' : undefined);
  return new ParcelWatcher({ ...opts, parcelBackend });
}
