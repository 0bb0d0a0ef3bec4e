/**
 * A real FUSE filesystem for the remote-worktree tests: Debian's `bindfs` mirrors a local
 * directory through /dev/fuse, and statfs then says FUSE (0x65735546), which git and we treat
 * as remote. .ci/run installs bindfs when it can; without it (or without /dev/fuse, or the
 * right to mount) the tests are skipped with the reason.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export interface FuseMount {
  /** The mirrored (real, local) directory. */
  backing: string;
  mountpoint: string;
  unmount(): void;
}

/** Mounts `<base>/mnt` over `<base>/backing`; a string is the reason it could not. */
export function mountBindfs(base: string): FuseMount | string {
  const which = spawnSync('sh', ['-c', 'command -v bindfs'], { encoding: 'utf8' });
  if (which.status !== 0) {
    return 'bindfs is not installed (apt-get install bindfs): no FUSE filesystem to test on';
  }
  const backing = path.join(base, 'backing');
  const mountpoint = path.join(base, 'mnt');
  fs.mkdirSync(backing, { recursive: true });
  fs.mkdirSync(mountpoint, { recursive: true });
  const r = spawnSync('bindfs', [backing, mountpoint], { encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0)
    return `bindfs could not mount: ${(r.stderr || r.error?.message || '').trim()}`;
  return {
    backing,
    mountpoint,
    unmount: () => {
      const u = spawnSync('fusermount', ['-u', '-z', mountpoint], { timeout: 30_000 });
      if (u.status !== 0) spawnSync('umount', ['-l', mountpoint], { timeout: 30_000 });
    },
  };
}
