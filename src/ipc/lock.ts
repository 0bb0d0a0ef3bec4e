import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import * as afs from '../sys/fs-async.js';
import { type FileIdentity, sameFile } from '../sys/identity.js';
import { errnoCode } from './connect.js';
import { SocketInUseError, SocketPathError } from './errors.js';

/** git's unix_ss_create waits 100 ms for `<socket>.lock`; so do we (git uses the same name). */
const LOCK_TIMEOUT_MS = 100;
const LOCK_RETRY_MS = 10;
/** Nobody holds the lock for more than a moment, so an old lock whose owner is dead is stale. */
const STALE_DEAD_OWNER_MS = 3_000;
/**
 * A lock this old is stale even if its pid is alive: a lock left by a crash survives a reboot
 * in `.git`, and its pid may by now belong to an unrelated process.
 */
const STALE_ANY_MS = 60_000;

export interface HeldLock {
  readonly lockPath: string;
  /** Removes the lock file if it still is the one we created. */
  release(): Promise<void>;
}

/**
 * Takes `<socketPath>.lock` (O_CREAT|O_EXCL, 0600, our pid inside). Never follows a symlink at
 * the lock path. Throws SocketInUseError if another process holds it past the timeout.
 */
export async function acquireLock(
  socketPath: string,
  log: (msg: string) => void = () => {},
): Promise<HeldLock> {
  const lockPath = `${socketPath}.lock`;
  const deadline = Date.now() + LOCK_TIMEOUT_MS;
  for (;;) {
    let fd: number;
    try {
      // O_EXCL makes open fail with EEXIST on any existing name, a symlink included.
      fd = await afs.open(lockPath, 'wx', 0o600);
    } catch (err) {
      if (errnoCode(err) !== 'EEXIST') {
        throw new SocketPathError(
          socketPath,
          `cannot create lock file '${lockPath}': ${(err as Error).message}`,
          { cause: err },
        );
      }
      if (await removeIfStale(socketPath, lockPath, log)) continue;
      if (Date.now() >= deadline) {
        throw new SocketInUseError(
          socketPath,
          `socket '${socketPath}' is being claimed by another process (lock file '${lockPath}' is held)`,
        );
      }
      await sleep(LOCK_RETRY_MS);
      continue;
    }
    let st: fs.Stats;
    try {
      await afs.writeText(fd, `${process.pid}\n`);
      st = await afs.fstat(fd);
    } catch (err) {
      await afs.close(fd).catch(() => {});
      await afs.unlink(lockPath).catch(() => {});
      throw new SocketPathError(socketPath, `cannot write lock file '${lockPath}'`, { cause: err });
    }
    await afs.close(fd);
    return {
      lockPath,
      release: async () => {
        await unlinkIfSame(lockPath, st);
      },
    };
  }
}

/** Unlinks `p` only if it still is the inode described by `st`. */
export async function unlinkIfSame(p: string, st: FileIdentity): Promise<boolean> {
  try {
    const now = await afs.lstat(p);
    if (!sameFile(now, st)) return false;
    await afs.unlink(p);
    return true;
  } catch {
    return false;
  }
}

async function removeIfStale(
  socketPath: string,
  lockPath: string,
  log: (msg: string) => void,
): Promise<boolean> {
  let st: fs.Stats;
  try {
    st = await afs.lstat(lockPath);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return true; // released meanwhile: try again at once
    throw new SocketPathError(socketPath, `cannot inspect lock file '${lockPath}'`, { cause: err });
  }
  if (!st.isFile()) {
    const what = st.isSymbolicLink() ? 'a symlink' : 'not a regular file';
    throw new SocketPathError(socketPath, `lock path '${lockPath}' is ${what}; refusing to use it`);
  }
  const age = Date.now() - st.mtimeMs;
  if (age < STALE_DEAD_OWNER_MS) return false;
  const pid = await readPid(lockPath);
  if (age < STALE_ANY_MS && pid !== undefined && isAlive(pid)) return false;
  // Two starters may both judge the lock stale; unlinkIfSame narrows that to a harmless race
  // (the loser then finds a live socket, or the winner later sees its socket stolen and exits).
  if (await unlinkIfSame(lockPath, st)) {
    log(`removed stale lock '${lockPath}' (pid ${pid ?? 'unknown'}, ${Math.round(age)} ms old)`);
  }
  return true;
}

async function readPid(lockPath: string): Promise<number | undefined> {
  try {
    const fd = await afs.open(lockPath, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    try {
      const text = (await afs.readText(fd)).trim();
      const pid = Number(text);
      return /^[0-9]+$/.test(text) && pid > 0 ? pid : undefined;
    } finally {
      await afs.close(fd);
    }
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errnoCode(err) === 'EPERM'; // exists, owned by someone else
  }
}
