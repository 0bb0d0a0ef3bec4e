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
