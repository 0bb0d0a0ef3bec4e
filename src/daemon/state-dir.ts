/**
 * `<gitdir>/fsmond/`, opened once and then used only through that handle. A daemon (often
 * root's) that re-resolved the path for every file would follow a symlink swapped in for
 * `fsmond` later and rotate, create or remove files wherever it points.
 *
 * On Linux every name is reached as `/proc/self/fd/<dirfd>/<name>`: the kernel resolves that
 * through the open directory, so a later swap of the `fsmond` name redirects nothing (and a
 * renamed git dir is followed for free). Where there is no such path, each use re-checks that
 * the name still leads to the directory that was opened, and refuses otherwise.
 */
import fs from 'node:fs';
import path from 'node:path';
import { LAYOUT, stateDirFor } from '../contract/index.js';
import { RepoError } from '../git/index.js';

export type StateName = Exclude<keyof typeof LAYOUT, 'socket' | 'stateDir'>;

const { O_RDONLY, O_WRONLY, O_NOFOLLOW, O_NONBLOCK } = fs.constants;
const O_DIRECTORY = fs.constants.O_DIRECTORY ?? 0;

interface Ident {
  dev: number;
  ino: number;
}

const sameDir = (st: fs.Stats | undefined, id: Ident) =>
  st?.isDirectory() === true && st.dev === id.dev && st.ino === id.ino;

/** Why a file of another user is not ours to use, or null when the effective user owns it. */
function foreignOwner(st: fs.Stats): string | null {
  const uid = process.geteuid?.();
  if (uid !== undefined && st.uid !== uid) return `belongs to ${ownerName(st.uid)}`;
  return null;
}

/** `uid N (name)`, the name from /etc/passwd when it has one. */
export function ownerName(uid: number): string {
  try {
    for (const line of fs.readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const f = line.split(':');
      if (f[2] === String(uid) && f[0]) return `uid ${uid} (${f[0]})`;
    }
  } catch {
    // no passwd file: the number alone
  }
  return `uid ${uid}`;
}

/**
 * A git dir that another user owns is that user's repository: a root daemon there would leave
 * root-owned files that lock its owner out, so nothing is created and the one line says whose.
 */
export function checkGitDirOwner(gitDir: string): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(gitDir);
  } catch (err) {
    throw new RepoError(`cannot use '${gitDir}': ${(err as Error).message}`, 'unsafe');
  }
  const foreign = foreignOwner(st);
  if (foreign) {
    throw new RepoError(
      `'${gitDir}' ${foreign}: it is that user's repository, so run git-fsmond as that user (not with sudo)`,
      'foreign',
      { gitDir },
    );
  }
}

export class StateDir {
  /** The directory's path as it was when opened: for messages, and for other processes. */
  readonly path: string;
  private readonly viaProc: boolean;
  private identity: Ident;
  private closed = false;

  private constructor(
    private readonly fd: number,
    dir: string,
    private readonly gitDir: string,
    proc: boolean,
  ) {
    this.path = dir;
    const st = fs.fstatSync(fd);
    this.identity = { dev: st.dev, ino: st.ino };
    this.viaProc = proc && fs.existsSync(`/proc/self/fd/${fd}/.`);
  }

  /**
   * Creates `<gitdir>/fsmond` (0700) if missing and opens it, refusing a git dir of another
   * user, a symlink, a non-directory, a directory of another user and one writable by group or
   * others (all checked on the open handle, so nothing can be swapped in between). `proc:
   * false` uses the re-checking fallback even where /proc exists (for its tests).
   */
  static open(gitDir: string, opts: { create?: boolean; proc?: boolean } = {}): StateDir {
    checkGitDirOwner(gitDir);
    const dir = stateDirFor(gitDir);
    if (opts.create !== false) {
      try {
        fs.mkdirSync(dir, { mode: 0o700 });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
          throw new RepoError(`cannot create '${dir}': ${(err as Error).message}`, 'unsafe');
        }
      }
    }
    let fd: number;
    try {
      fd = fs.openSync(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const st = fs.lstatSync(dir, { throwIfNoEntry: false });
      if (code === 'ELOOP' || st?.isSymbolicLink()) {
        throw new RepoError(`'${dir}' is a symlink; refusing to use it`, 'unsafe', { gitDir });
      }
      if (code === 'ENOTDIR') {
        throw new RepoError(`'${dir}' is not a directory; refusing to use it`, 'unsafe', {
          gitDir,
        });
      }
      throw new RepoError(`cannot open '${dir}': ${(err as Error).message}`, 'unsafe', {
        gitDir,
      });
    }
    try {
      const st = fs.fstatSync(fd);
      if (!st.isDirectory()) {
        throw new RepoError(`'${dir}' is not a directory; refusing to use it`, 'unsafe', {
          gitDir,
        });
      }
      const foreign = foreignOwner(st);
      if (foreign) {
        throw new RepoError(`'${dir}' ${foreign}; refusing to use it`, 'unsafe', { gitDir });
      }
      // Others may already have planted names in it: start over rather than trust any of them.
      if ((st.mode & 0o022) !== 0) {
        const who = st.mode & 0o002 ? 'others' : 'its group';
        throw new RepoError(
          `'${dir}' is writable by ${who}; refusing to use it (remove it, a new one is made)`,
          'unsafe',
          { gitDir },
        );
      }
      // Merely readable by others: tighten it, on the handle, never through the name.
      if ((st.mode & 0o777) !== 0o700) fs.fchmodSync(fd, 0o700);
      return new StateDir(fd, dir, gitDir, opts.proc !== false);
    } catch (err) {
      fs.closeSync(fd);
      throw err;
    }
  }

  /**
   * The path to use for one state file right now. Throws when the state directory can no longer
   * be reached safely (where there is no /proc: its name now leads elsewhere).
   */
  file(name: StateName): string {
    return path.join(this.dirPath(), LAYOUT[name]);
  }

  /**
   * Opens state file `name` for writing, `flags` added (O_APPEND, O_CREAT, O_TRUNC; 0600 when
   * created), with its stat. Never through a symlink planted at the name, never a wait at a
   * FIFO there (non-blocking: with no reader the open fails at once), and only a regular file:
   * anything else throws.
   */
  openForWrite(name: StateName, flags: number): { fd: number; st: fs.Stats } {
    const fd = fs.openSync(this.file(name), O_WRONLY | O_NOFOLLOW | O_NONBLOCK | flags, 0o600);
    try {
      const st = fs.fstatSync(fd);
      if (!st.isFile()) throw new Error(`state file '${LAYOUT[name]}' is not a regular file`);
      return { fd, st };
    } catch (err) {
      fs.closeSync(fd);
      throw err;
    }
  }

  /** The state directory itself, as a path that leads to the opened directory. */
  dirPath(): string {
    if (this.closed) throw new Error('state directory handle closed');
    if (this.viaProc) return `/proc/self/fd/${this.fd}`;
    const st = fs.lstatSync(this.path, { throwIfNoEntry: false });
    if (!sameDir(st, this.identity)) {
      throw new Error(`'${this.path}' is no longer the state directory that was opened`);
    }
    return this.path;
  }

  /**
   * The git dir was renamed: without /proc, follow it to `<gitDir>/fsmond` if that is still the
   * same directory (with /proc the handle follows by itself).
   */
  follow(gitDir: string): void {
    if (this.viaProc) return;
    const st = fs.lstatSync(stateDirFor(gitDir), { throwIfNoEntry: false });
    if (sameDir(st, this.identity)) {
      (this as { path: string }).path = stateDirFor(gitDir);
    }
  }

  /** Whether the directory still exists (it is not unlinked). */
  get present(): boolean {
    try {
      return fs.fstatSync(this.fd).nlink > 0;
    } catch {
      return false;
    }
  }

  /**
   * A subdirectory of ours (the cookie dir): created 0700 if missing, refused if it is not a
   * real directory of ours. Its path leads through this handle.
   */
  ownSubdir(name: 'cookieDir'): string {
    const dir = this.file(name);
    try {
      fs.mkdirSync(dir, { mode: 0o700 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const st = fs.lstatSync(dir);
    const shown = path.join(this.path, LAYOUT[name]);
    if (!st.isDirectory()) {
      const what = st.isSymbolicLink() ? 'a symlink' : 'not a directory';
      throw new RepoError(`'${shown}' is ${what}; refusing to use it`, 'unsafe', {
        gitDir: this.gitDir,
      });
    }
    const foreign = foreignOwner(st);
    if (foreign) {
      throw new RepoError(`'${shown}' ${foreign}; refusing to use it`, 'unsafe', {
        gitDir: this.gitDir,
      });
    }
    if ((st.mode & 0o777) !== 0o700) fs.chmodSync(dir, 0o700);
    return dir;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    fs.closeSync(this.fd);
  }
}
