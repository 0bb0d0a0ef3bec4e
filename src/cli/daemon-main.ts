/**
 * The detached daemon's entry (`git-fsmond daemon <worktree>`, as the shims and `start` launch
 * it). bin/git-fsmond comes here without loading the CLI: commander and every command's code
 * would otherwise stay in the daemon's memory for its whole life (~3 MB RSS).
 */
import v8 from 'node:v8';
import { runDaemon } from '../daemon/index.js';

/**
 * V8 grows the young generation up to 2 x 16 MB while the first scan allocates, and keeps it
 * for the daemon's life. A growth factor of 1 holds it at its initial size (2 x 1 MB) instead;
 * set here at run time, so it applies however the daemon is launched (no flag on a command
 * line, no NODE_OPTIONS).
 */
const DAEMON_V8_FLAGS = ['--semi-space-growth-factor=1'];

export async function daemonMain(worktree: string): Promise<never> {
  for (const flag of DAEMON_V8_FLAGS) v8.setFlagsFromString(flag);
  let code = 1;
  try {
    code = await runDaemon({ dir: worktree, logToStderr: false });
  } catch {
    code = 1;
  }
  process.exit(code);
}
