import fs from 'node:fs';

/**
 * True inside a user namespace of our own. In the initial namespace sysctls such as
 * user.max_inotify_watches are machine-wide, so callers must touch nothing there.
 */
export function inOwnUserNamespace(): boolean {
  try {
    const map = fs.readFileSync('/proc/self/uid_map', 'utf8').trim().split(/\s+/);
    return !(map.length === 3 && map[0] === '0' && map[1] === '0' && map[2] === '4294967295');
  } catch {
    return false;
  }
}
