/**
 * libc through koffi, loaded once for every part that needs a system call Node lacks
 * (inotify for the watcher, peer credentials for the socket code). Loaded on first use, so
 * merely importing a module that uses it works on any platform.
 */
import { packageRequire } from '../contract/index.js';

type Koffi = typeof import('koffi');
type Library = ReturnType<Koffi['load']>;

export interface Libc {
  koffi: Koffi;
  lib: Library;
  /** The errno of the last call, by its symbolic name (ENOENT, ...). */
  errnoName(): string;
}

let loaded: Libc | null = null;

export function libc(): Libc {
  if (loaded) return loaded;
  const koffi = packageRequire('koffi') as Koffi;
  let lib: Library;
  try {
    lib = koffi.load('libc.so.6');
  } catch {
    // musl and friends: the symbols are in the process image already.
    lib = koffi.load(null);
  }
  const names = new Map<number, string>();
  for (const [name, value] of Object.entries(koffi.os.errno)) {
    if (!names.has(value)) names.set(value, name);
  }
  const errnoName = () => {
    const e = koffi.errno();
    return names.get(e) ?? `errno ${e}`;
  };
  loaded = { koffi, lib, errnoName };
  return loaded;
}
