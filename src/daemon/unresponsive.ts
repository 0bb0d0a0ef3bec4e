import fs from 'node:fs';
import type { StateDir } from './state-dir.js';

/**
 * A shim whose query got no byte back in time leaves `<gitdir>/fsmond/unresponsive`, and while
 * it exists every shim gives up on us almost at once. Serving any request proves us alive
 * again, even one whose shim has already given up (the first one after a SIGCONT, say), so
 * every request removes it; when it is absent that costs one lstat.
 */
export function clearUnresponsive(stateDir: StateDir): void {
  try {
    const file = stateDir.file('unresponsive');
    if (fs.lstatSync(file, { throwIfNoEntry: false })) fs.unlinkSync(file);
  } catch {
    // another request removed it first, or the state dir is gone: nothing to clear
  }
}
