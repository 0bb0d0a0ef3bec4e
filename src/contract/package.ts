import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The installed package: `dist/src/contract/` is three levels below it. */
export const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

let version: string | null = null;

/** The installed package's version, read once (a daemon keeps the one it started with). */
export function packageVersion(): string {
  version ??= String(
    JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')).version,
  );
  return version;
}
