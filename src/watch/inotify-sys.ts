/**
 * Raw inotify(7) through koffi, no compiler, no install script (docs/linux-watching.md).
 *
 * Paths go in as latin1 byte strings and are passed to libc as NUL-terminated Buffers, so
 * names that are not valid UTF-8 reach the kernel byte for byte.
 */
import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
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
 * addWatch on `fd` with `mask` for a path given as src[from, to): bytes the scan helper sent.
 * One call per directory of a big scan, in an interpreted daemon: everything that can be is
 * looked up once, here.
 */
export function watchAtFor(
  fd: number,
  mask: number,
): (src: Buffer, from: number, to: number) => SysResult {
  const l = load();
  const add = l.addWatch;
  const m = mask >>> 0;
  let buf = Buffer.alloc(8192);
  return (src, from, to) => {
    if (to - from >= buf.length) buf = Buffer.alloc(to - from + 1);
    src.copy(buf, 0, from, to);
    buf[to - from] = 0;
    const wd = add(fd, buf, m);
    return wd >= 0 ? wd : l.errnoName();
  };
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

function sysctlNumber(path: string): number | null {
  const v = readSysctl(path);
  return v === null || !/^\d+$/.test(v) ? null : Number(v);
}

const MAX_WATCHES = '/proc/sys/fs/inotify/max_user_watches';
const MAX_INSTANCES = '/proc/sys/fs/inotify/max_user_instances';
/** A user namespace may have a lower limit of its own; the lower one is the one that bites. */
const NS_MAX_WATCHES = '/proc/sys/user/max_inotify_watches';
const NS_MAX_INSTANCES = '/proc/sys/user/max_inotify_instances';

function lower(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  return b === null ? a : Math.min(a, b);
}

/** The limits in force for this process, null where /proc does not say. */
export function inotifyLimits(): { maxWatches: number | null; maxInstances: number | null } {
  return {
    maxWatches: lower(sysctlNumber(MAX_WATCHES), sysctlNumber(NS_MAX_WATCHES)),
    maxInstances: lower(sysctlNumber(MAX_INSTANCES), sysctlNumber(NS_MAX_INSTANCES)),
  };
}

export interface InotifyUsage {
  /** inotify instances and watches held by processes of our effective uid, as /proc shows. */
  instances: number;
  watches: number;
}

const USAGE_CACHE_MS = 2_000;
let usageCache: { at: number; usage: InotifyUsage | null } | null = null;

/**
 * What counts against the per-user limits: every process of this user, not just us (a
 * second daemon or an editor's watcher of the same user shares the table). Walks /proc, so
 * it is cached briefly; null when /proc cannot be read at all.
 */
export function userInotifyUsage(maxAgeMs = USAGE_CACHE_MS): InotifyUsage | null {
  const now = Date.now();
  if (usageCache && now - usageCache.at < maxAgeMs) return usageCache.usage;
  usageCache = { at: now, usage: scanProc() };
  return usageCache.usage;
}

function scanProc(): InotifyUsage | null {
  const uid = process.geteuid?.() ?? -1;
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((n) => /^\d+$/.test(n));
  } catch {
    return null;
  }
  const usage = { instances: 0, watches: 0 };
  for (const pid of pids) {
    let fds: string[];
    try {
      if (statSync(`/proc/${pid}`).uid !== uid) continue;
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // gone, or not ours to look at
    }
    for (const fd of fds) {
      try {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`) !== 'anon_inode:inotify') continue;
        usage.instances++;
        const info = readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'latin1');
        usage.watches += info.split('\ninotify wd:').length - 1;
      } catch {
        // closed meanwhile
      }
    }
  }
  return usage;
}

/** The exact text operators grep for, plus the limits in force. Stable across retries. */
export function watchLimitMessage(): string {
  return limitMessage('watch', 'max_user_watches', MAX_WATCHES, NS_MAX_WATCHES);
}

function limitMessage(what: string, sysctl: string, globalPath: string, nsPath: string): string {
  const global = readSysctl(globalPath);
  let msg = `inotify ${what} limit reached; increase fs.inotify.${sysctl} (currently ${global ?? 'unknown'})`;
  // Inside a user namespace a lower per-namespace limit may be the one that bit.
  const ns = readSysctl(nsPath);
  if (ns !== null && global !== null && Number(ns) < Number(global)) {
    msg += `; this user namespace allows ${ns} (user.${nsPath.split('/').pop()})`;
  }
  return msg;
}

/** With the counts: how many we hold, how many the user holds, against which limit. */
export function watchLimitDetail(held: number): string {
  const { maxWatches } = inotifyLimits();
  const u = userInotifyUsage(0);
  const user = u ? `${u.watches} held by this user in all` : 'the user total is unknown';
  return `${watchLimitMessage()}: ${held} watches held by this watcher, ${user}, limit ${maxWatches ?? 'unknown'}`;
}

export function instanceLimitMessage(): string {
  return limitMessage('instance', 'max_user_instances', MAX_INSTANCES, NS_MAX_INSTANCES);
}

export function instanceLimitDetail(errno: string): string {
  const { maxInstances } = inotifyLimits();
  const u = userInotifyUsage(0);
  const user = u ? `${u.instances} instances held by this user` : 'the user total is unknown';
  let msg = `${instanceLimitMessage()}: ${user}, limit ${maxInstances ?? 'unknown'} (${errno})`;
  // EMFILE is also this process's own descriptor limit; below the instance limit, that is it.
  if (errno === 'EMFILE' && u && maxInstances !== null && u.instances < maxInstances) {
    msg += '; or this process is out of file descriptors (ulimit -n)';
  }
  return msg;
}
