import fs from 'node:fs';
import path from 'node:path';

/**
 * Every running daemon of a user leaves one small file in a per-user runtime directory, so
 * that `list` and `stop --all` find daemons that `enable --global` started in repositories
 * nobody recorded. Like a pid file it can outlive a SIGKILLed daemon: readers keep an entry
 * only while its pid is alive and still runs git-fsmond.
 */
export interface DaemonEntry {
  pid: number;
  worktree: string;
  gitDir: string;
  socket: string;
  version: string;
  startedAtMs: number;
  bootId: string;
}

/**
 * Fixed per uid, not taken from TMPDIR, HOME or XDG_RUNTIME_DIR: a daemon started by git
 * inherits whatever environment that git had, and `list` must find it from any shell.
 * GIT_FSMOND_RUNTIME_DIR replaces it (tests run side by side).
 */
export function runtimeDir(): string {
  const override = process.env.GIT_FSMOND_RUNTIME_DIR;
  if (override && path.isAbsolute(override)) return override;
  return path.join('/tmp', `git-fsmond-${process.getuid?.() ?? 'user'}`);
}

/** Entries of an earlier boot are stale however alive their pid looks. */
function bootId(): string {
  try {
    return fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return '';
  }
}

/** The runtime dir as a real 0700 directory of ours, or null (then nothing is registered). */
function ownRuntimeDir(create: boolean): string | null {
  const dir = runtimeDir();
  try {
    if (create) fs.mkdirSync(dir, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') return null;
  }
  const st = fs.lstatSync(dir, { throwIfNoEntry: false });
  if (!st?.isDirectory() || (st.mode & 0o077) !== 0) return null;
  if (process.getuid && st.uid !== process.getuid()) return null;
  return dir;
}

const entryFile = (dir: string, pid: number) => path.join(dir, `${pid}.json`);

/** Best effort: a daemon that cannot register still serves; it is only missing from `list`. */
export function registerDaemon(info: Omit<DaemonEntry, 'bootId'>): void {
  const entry: DaemonEntry = { ...info, bootId: bootId() };
  const dir = ownRuntimeDir(true);
  if (!dir) return;
  const file = entryFile(dir, entry.pid);
  const tmp = `${file}.tmp`;
  try {
    const { O_WRONLY, O_CREAT, O_TRUNC, O_NOFOLLOW } = fs.constants;
    const fd = fs.openSync(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0o600);
    try {
      fs.writeSync(fd, JSON.stringify(entry));
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch {
    fs.rmSync(tmp, { force: true });
  }
}

export function unregisterDaemon(pid: number): void {
  const dir = ownRuntimeDir(false);
  if (dir) fs.rmSync(entryFile(dir, pid), { force: true });
}

/** True while `pid` is a live process running git-fsmond (a reused pid runs something else). */
export function runsGitFsmond(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (process.platform !== 'linux') return true;
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes('git-fsmond');
  } catch {
    return false;
  }
}

/** This user's running daemons; entries of dead daemons are removed on the way. */
export function runningDaemons(): DaemonEntry[] {
  const dir = ownRuntimeDir(false);
  if (!dir) return [];
  const entries: DaemonEntry[] = [];
  const boot = bootId();
  for (const name of fs.readdirSync(dir)) {
    const m = /^(\d+)\.json$/.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    let entry: DaemonEntry | null = null;
    try {
      entry = JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8')) as DaemonEntry;
    } catch {
      // half-written or garbage: treated like a dead daemon's entry
    }
    if (entry?.pid === pid && entry.bootId === boot && runsGitFsmond(pid)) entries.push(entry);
    else fs.rmSync(path.join(dir, name), { force: true });
  }
  return entries.sort((a, b) => a.worktree.localeCompare(b.worktree));
}
