import fs from 'node:fs';

/** Paths as Buffers, so names that are not UTF-8 stay exact. */
export const join = (...parts: Buffer[]): Buffer =>
  Buffer.concat(parts.flatMap((p, i) => (i ? [SLASH, p] : [p])));
const SLASH = Buffer.from('/');
const DOT_GIT = Buffer.from('.git');

export interface Listing {
  files: Buffer[];
  /** Directories below the root (the root itself excluded). */
  dirs: Buffer[];
}

/** Every file and directory under `root`, outside `.git`, as absolute Buffer paths. */
export function list(root: Buffer): Listing {
  const out: Listing = { files: [], dirs: [] };
  const walk = (dir: Buffer) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true, encoding: 'buffer' })) {
      const name = e.name as unknown as Buffer;
      if (dir === root && name.equals(DOT_GIT)) continue;
      const p = join(dir, name);
      if (e.isDirectory()) {
        out.dirs.push(p);
        walk(p);
      } else {
        out.files.push(p);
      }
    }
  };
  walk(root);
  return out;
}

export function isInside(child: Buffer, parent: Buffer): boolean {
  return (
    child.length > parent.length &&
    child.subarray(0, parent.length).equals(parent) &&
    child[parent.length] === 0x2f
  );
}

/**
 * Copies the worktree `src` (without `.git`) to `dst`, file modes included. Byte paths,
 * because fs.cpSync would mangle names that are not UTF-8.
 */
export function copyTree(src: Buffer, dst: Buffer): void {
  const { files, dirs } = list(src);
  const to = (p: Buffer) => Buffer.concat([dst, p.subarray(src.length)]);
  fs.mkdirSync(dst, { recursive: true });
  for (const d of dirs) fs.mkdirSync(to(d), { recursive: true });
  for (const f of files) {
    fs.copyFileSync(f, to(f));
    fs.chmodSync(to(f), fs.statSync(f).mode & 0o777);
  }
}
