import fs from 'node:fs';

/**
 * What makes a file the same file. A path can be renamed, replaced or remounted while we hold
 * on to it, so whatever must still be "ours" later is remembered by this, not by its name.
 */
export interface FileIdentity {
  dev: number;
  ino: number;
}

/** The identity of `p` (of the link itself with `follow: false`), or null if it cannot be read. */
export function identityOf(p: string, opts: { follow?: boolean } = {}): FileIdentity | null {
  try {
    const st = opts.follow === false ? fs.lstatSync(p) : fs.statSync(p);
    return { dev: st.dev, ino: st.ino };
  } catch {
    return null;
  }
}

/** Both known and the same file; an unknown side is never the same. */
export function sameFile(
  a: FileIdentity | null | undefined,
  b: FileIdentity | null | undefined,
): boolean {
  return !!a && !!b && a.dev === b.dev && a.ino === b.ino;
}
