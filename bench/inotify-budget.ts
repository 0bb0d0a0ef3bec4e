/**
 * Whether the user's inotify watch table can hold every daemon of a run. Each daemon on Linux
 * watches every directory of its copy; one that hits the limit answers `/` (ours), poisons
 * itself until restarted (Watchman 4.9) or gives up, and the run measures that instead.
 */
import fs from 'node:fs';

/** Watches held now by this user's processes (their inotify fds' `wd` lines). */
function watchesInUse(): number {
  let n = 0;
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    let fds: string[];
    try {
      if (fs.statSync(`/proc/${pid}`).uid !== process.getuid?.()) continue;
      fds = fs.readdirSync(`/proc/${pid}/fdinfo`);
    } catch {
      continue; // gone, or not ours to read
    }
    for (const fd of fds) {
      try {
        const info = fs.readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'latin1');
        if (info.includes('inotify wd:')) n += info.split('inotify wd:').length - 1;
      } catch {
        // closed meanwhile
      }
    }
  }
  return n;
}

/** Null when `watchers` daemons of `dirs` directories each fit (or this is not Linux), else why not. */
export function inotifyShortfall(dirs: number, watchers: number): string | null {
  let max: number;
  try {
    max = Number(fs.readFileSync('/proc/sys/fs/inotify/max_user_watches', 'latin1'));
  } catch {
    return null;
  }
  const used = watchesInUse();
  const need = watchers * (dirs + 10);
  if (used + need <= max) return null;
  return (
    `${watchers} daemons need about ${need} inotify watches, and ${used} of the ` +
    `${max} allowed (fs.inotify.max_user_watches) are in use: raise it, for example ` +
    `\`sudo sysctl fs.inotify.max_user_watches=${Math.max(2 * (used + need), 524_288)}\`, or stop other watchers`
  );
}
