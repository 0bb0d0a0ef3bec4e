/**
 * SHA-1 in hex, for the names git and we derive from a path (a relocated socket, a unit name
 * too long to spell out). node:crypto is loaded on the first call, not imported: importing it
 * costs a daemon ~0.8 MB RSS for its whole life, and these names are needed only on rare paths.
 */
import { packageRequire } from '../contract/index.js';

type Crypto = typeof import('node:crypto');

let crypto: Crypto | null = null;

export function sha1Hex(text: string): string {
  crypto ??= packageRequire('node:crypto') as Crypto;
  return crypto.createHash('sha1').update(text, 'utf8').digest('hex');
}
