/**
 * Directory listings for the scanner, straight from getdents64(2) through koffi.
 *
 * fs.readdirSync builds a sorted array of every entry in C++ and then a JS string and a
 * Dirent for each: on 1M files that is 1M strings and objects a full scan throws away at once
 * (it only needs the subdirectories). Reading the kernel's records into one reused buffer and
 * decoding only the names asked for took a 1M-file scan with watches from 2.36-2.55 s to
 * 1.82-1.97 s here (user time 1.34 -> 0.83 s; the kernel's share is the same).
 *
 * Where getdents64 is not in libc (not Linux, an old or unusual libc) readdirSync does the
 * same job.
 */
import { constants, type Dirent, lstatSync, readdirSync } from 'node:fs';
import { endianness } from 'node:os';
import { libc } from '../sys/libc.js';
import { errCode } from './errors.js';

export interface Listing {
  /** Subdirectory names (symlinks to directories are files: never followed). */
  readonly dirs: string[];
  /** Every other name; left empty when the caller asked for directories only. */
  readonly files: string[];
}

interface Calls {
  open: (path: Buffer, flags: number) => number;
  getdents64: (fd: number, buf: Buffer, size: number) => number | bigint;
  close: (fd: number) => number;
}

const DT_UNKNOWN = 0;
const DT_DIR = 4;
/** Not a directory, as far as an lstat says. */
const NOT_DIR = -1;
/** struct linux_dirent64: d_ino u64, d_off s64, d_reclen u16, d_type u8, d_name. */
const RECLEN_AT = 16;
const TYPE_AT = 18;
const NAME_AT = 19;
const LITTLE = endianness() === 'LE';

/** One buffer for every listing: the scanner is synchronous and never re-enters. */
const buf = Buffer.allocUnsafe(64 * 1024);
/** O_CLOEXEC is 0o2000000 on every architecture Node runs Linux on; fs.constants lacks it. */
const OPEN_DIR = constants.O_RDONLY | constants.O_DIRECTORY | 0o2000000;

let calls: Calls | null | undefined;

/**
 * open and close through koffi too: fs.openSync/closeSync cost ~0.3 s more of user time per
 * 67k directories (argument checks, a copy of the path) than the bare calls.
 */
function binding(): Calls | null {
  if (calls !== undefined) return calls;
  try {
    const { lib } = libc();
    calls = {
      open: lib.func('int open(const uint8_t *path, int flags)'),
      getdents64: lib.func('intptr_t getdents64(int fd, _Out_ uint8_t *buf, size_t count)'),
      close: lib.func('int close(int fd)'),
    };
  } catch {
    calls = null;
  }
  return calls;
}

/**
 * List the directory at the absolute latin1 path `abs`. Throws as fs does (an Error whose
 * `code` is the errno name) when it cannot be opened or read.
 */
export function listDir(abs: string, withFiles: boolean): Listing {
  const sys = binding();
  if (!sys) return fromReaddir(Buffer.from(abs, 'latin1'), withFiles);
  const path = Buffer.from(`${abs}\0`, 'latin1');
  // Following a symlink here is what readdir did too.
  const fd = sys.open(path, OPEN_DIR);
  if (fd < 0) throw sysError(libc().errnoName(), abs);
  const dir = path.subarray(0, path.length - 1);
  const listing: Listing = { dirs: [], files: [] };
  try {
    for (;;) {
      const n = Number(sys.getdents64(fd, buf, buf.length));
      if (n < 0) throw sysError(libc().errnoName(), abs);
      if (n === 0) return listing;
      decodeDirents(buf, n, dir, listing, withFiles);
    }
  } finally {
    sys.close(fd);
  }
}

/**
 * The first `n` bytes of `records`, struct linux_dirent64 after struct linux_dirent64, into
 * `listing`; names under `dir` (absolute, latin1) where the type needs an lstat. Exported for
 * the test of records whose type the filesystem left unknown.
 */
export function decodeDirents(
  records: Buffer,
  n: number,
  dir: Buffer,
  listing: Listing,
  withFiles: boolean,
): void {
  const buf = records;
  for (let off = 0, reclen = 0; off < n; off += reclen) {
    // Byte arithmetic, not readUInt16LE: the daemon runs interpreted (src/cli/daemon-main.ts),
    // where a call per entry (1M on 1M files) is what costs.
    const lo = buf[off + RECLEN_AT];
    const hi = buf[off + RECLEN_AT + 1];
    reclen = LITTLE ? lo | (hi << 8) : (lo << 8) | hi;
    const type = buf[off + TYPE_AT];
    // A full scan wants the subdirectories only: no string for any other entry.
    if (type !== DT_DIR && type !== DT_UNKNOWN && !withFiles) continue;
    const name = buf.toString('latin1', off + NAME_AT, buf.indexOf(0, off + NAME_AT));
    if (name === '.' || name === '..') continue;
    // Some filesystems leave the type to a stat, as readdir(3) callers must.
    const known = type === DT_UNKNOWN ? typeByLstat(dir, name) : type;
    if (known === DT_DIR) listing.dirs.push(name);
    else if (withFiles && known !== undefined) listing.files.push(name);
  }
}

/** DT_DIR, NOT_DIR, or undefined when the entry is gone already. */
function typeByLstat(dir: Buffer, name: string): number | undefined {
  try {
    const st = lstatSync(Buffer.concat([dir, Buffer.from(`/${name}`, 'latin1')]));
    return st.isDirectory() ? DT_DIR : NOT_DIR;
  } catch (err) {
    if (errCode(err) === 'ENOENT') return undefined;
    throw err;
  }
}

function sysError(code: string, abs: string): Error {
  return Object.assign(new Error(`${code}: cannot read directory '${abs}'`), { code });
}

/**
 * Names come back as latin1 strings, which is exactly our byte-string form, without a Buffer
 * per name. The path goes in as a Buffer so it reaches the kernel byte for byte.
 */
const LATIN1 = { withFileTypes: true, encoding: 'latin1' } as const;
const BUFFER = { withFileTypes: true, encoding: 'buffer' } as const;

/** The fallback; exported so a test holds both ways to the same expectation. */
export function fromReaddir(path: Buffer, withFiles: boolean): Listing {
  let entries: Dirent[];
  try {
    entries = readdirSync(path, LATIN1);
  } catch (err) {
    if (errCode(err) !== 'ERR_INVALID_ARG_TYPE') throw err;
    // Entries of unknown type (no d_type): Node lstats them, joining a Buffer path with a
    // string name, which it refuses. Only then pay for Buffer names.
    entries = readdirSync(path, BUFFER).map(asLatin1);
  }
  const listing: Listing = { dirs: [], files: [] };
  for (const e of entries) {
    if (e.isDirectory()) listing.dirs.push(e.name);
    else if (withFiles) listing.files.push(e.name);
  }
  return listing;
}

function asLatin1(e: Dirent<Buffer>): Dirent {
  const d = e as unknown as { name: string | Buffer };
  d.name = (d.name as Buffer).toString('latin1');
  return e as unknown as Dirent;
}
