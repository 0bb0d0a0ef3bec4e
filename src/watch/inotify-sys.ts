/**
 * Raw inotify(7) through koffi, no compiler, no install script (docs/linux-watching.md).
 *
 * Paths go in as latin1 byte strings and are passed to libc as NUL-terminated Buffers, so
 * names that are not valid UTF-8 reach the kernel byte for byte.
 */
import { readFileSync } from 'node:fs';
import { libc } from '../sys/libc.js';

/** Event and flag bits from <sys/inotify.h>. */
export const IN_MODIFY = 0x2;
export const IN_ATTRIB = 0x4;
export const IN_MOVED_FROM = 0x40;
export const IN_MOVED_TO = 0x80;
export const IN_CREATE = 0x100;
export const IN_DELETE = 0x200;
export const IN_DELETE_SELF = 0x400;
export const IN_MOVE_SELF = 0x800;
export const IN_UNMOUNT = 0x2000;
export const IN_Q_OVERFLOW = 0x4000;
export const IN_IGNORED = 0x8000;
export const IN_ONLYDIR = 0x01000000;
export const IN_DONT_FOLLOW = 0x02000000;
export const IN_MASK_ADD = 0x20000000;
export const IN_ISDIR = 0x40000000;
const IN_CLOEXEC = 0o2000000;

/**
 * Everything that changes a directory listing or a file's stat data. No IN_MASK_CREATE: without
 * it, add_watch on an inode we already watch returns the existing wd, which is how a moved
 * directory is recognised and re-keyed (git 2.55's bug A comes from treating EEXIST as "done":
 * docs/protocol.md#bug-a).
 */
const EVENTS =
  IN_MODIFY |
  IN_ATTRIB |
  IN_MOVED_FROM |
  IN_MOVED_TO |
  IN_CREATE |
  IN_DELETE |
  IN_DELETE_SELF |
  IN_MOVE_SELF;
/** The worktree root may itself be reached through a symlink, so it is followed. */
export const ROOT_MASK = EVENTS | IN_ONLYDIR;
/** Below the root, a symlink to a directory is a file entry: never follow it. */
export const DIR_MASK = EVENTS | IN_ONLYDIR | IN_DONT_FOLLOW;
/** The cookie dir is read for names, like any directory. */
export const COOKIE_MASK = EVENTS | IN_ONLYDIR;
/**
 * The git dir is watched only for its own removal. IN_MASK_ADD so that, should the same inode
 * also be watched with a wider mask, that mask is not narrowed.
 */
export const GITDIR_MASK = IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | IN_MASK_ADD;

interface Inotify {
  init1: (flags: number) => number;
  addWatch: (fd: number, path: Buffer, mask: number) => number;
  rmWatch: (fd: number, wd: number) => number;
  errnoName: () => string;
}

let inotify: Inotify | null = null;

function load(): Inotify {
  if (inotify) return inotify;
  const { lib, errnoName } = libc();
  inotify = {
    init1: lib.func('int inotify_init1(int flags)'),
    addWatch: lib.func('int inotify_add_watch(int fd, const uint8_t *path, uint32_t mask)'),
    rmWatch: lib.func('int inotify_rm_watch(int fd, int wd)'),
    errnoName,
  };
  return inotify;
}

/** Result of a syscall: a non-negative value, or the errno's symbolic name (ENOENT, ...). */
export type SysResult = number | string;

/** Blocking (no IN_NONBLOCK): fs.read waits in a threadpool thread (docs/linux-watching.md#t19). */
export function inotifyInit(): SysResult {
  const l = load();
  const fd = l.init1(IN_CLOEXEC);
  return fd >= 0 ? fd : l.errnoName();
}

/** Reused for every path (tens of thousands of calls per scan); grown on demand. */
let pathBuf = Buffer.alloc(8192);

export function addWatch(fd: number, path: string, mask: number): SysResult {
  const l = load();
  if (path.length + 1 > pathBuf.length) pathBuf = Buffer.alloc(path.length + 1);
  const n = pathBuf.write(path, 0, 'latin1');
  pathBuf[n] = 0;
  const wd = l.addWatch(fd, pathBuf, mask >>> 0);
  return wd >= 0 ? wd : l.errnoName();
}

/**
 * False when the watch was already gone (the kernel drops it when the directory dies); that is
 * fine, so callers mostly ignore the result. Success queues an IN_IGNORED event.
 */
export function rmWatch(fd: number, wd: number): boolean {
  return wd >= 0 && load().rmWatch(fd, wd) === 0;
}

function readSysctl(path: string): string | null {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return null;
  }
}

/** The exact text operators grep for, plus the limits in force. */
export function watchLimitMessage(): string {
  const global = readSysctl('/proc/sys/fs/inotify/max_user_watches');
  let msg = `inotify watch limit reached; increase fs.inotify.max_user_watches (currently ${global ?? 'unknown'})`;
  // Inside a user namespace a lower per-namespace limit may be the one that bit.
  const ns = readSysctl('/proc/sys/user/max_inotify_watches');
  if (ns !== null && global !== null && Number(ns) < Number(global)) {
    msg += `; this user namespace allows ${ns} (user.max_inotify_watches)`;
  }
  return msg;
}

export function instanceLimitMessage(): string {
  const v = readSysctl('/proc/sys/fs/inotify/max_user_instances');
  return `inotify instance limit reached; increase fs.inotify.max_user_instances (currently ${v ?? 'unknown'})`;
}
