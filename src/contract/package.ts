import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * This module's own file. It is compiled twice, as ESM (dist/src/, the CLI and the tests) and
 * as CommonJS (dist/cjs/, the daemon: an ESM entry costs it ~2 MB RSS), and neither
 * `import.meta.url` nor `__filename` exists in both; the V8 call site names the file in both
 * (a file: URL under ESM, a path under CommonJS).
 */
function thisFile(): string {
  const saved = Error.prepareStackTrace;
  Error.prepareStackTrace = (_error, sites) => sites;
  const sites = new Error().stack as unknown as NodeJS.CallSite[];
  Error.prepareStackTrace = saved;
  const name = sites[0]!.getFileName()!;
  return name.startsWith('file:') ? fileURLToPath(name) : name;
}

/** The build this process runs: `dist/src/` (ESM) or `dist/cjs/` (the daemon's CommonJS). */
export const BUILD_DIR = path.resolve(path.dirname(thisFile()), '..');

/** The installed package: `dist/src/contract/` and `dist/cjs/contract/` are three levels below it. */
export const PACKAGE_ROOT = path.resolve(BUILD_DIR, '../..');

/** `require` as from the package root, for the dependencies loaded on first use (koffi, @parcel/watcher). */
export const packageRequire = createRequire(path.join(PACKAGE_ROOT, 'package.json'));

let version: string | null = null;

/** The installed package's version, read once (a daemon keeps the one it started with). */
export function packageVersion(): string {
  version ??= String(
    JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')).version,
  );
  return version;
}
