/**
 * The detached daemon's entry (`git-fsmond daemon <worktree>`, as the shims and `start` launch
 * it). bin/git-fsmond comes here without loading the CLI: commander and every command's code
 * would otherwise stay in the daemon's memory for its whole life (~3 MB RSS). It and what it
 * imports are compiled a second time as CommonJS (tsconfig.cjs.json, dist/cjs/), which the
 * launcher requires: an ESM module costs the process Node's ESM loader (~0.8 MB RSS).
 */
import v8 from 'node:v8';

/**
 * Set at run time, so they apply however the daemon is launched (no flag on a command line,
 * no NODE_OPTIONS), and before the daemon's modules are imported, so they apply to all of its
 * code (bench/memory.ts measured each, 100k files):
 * - no optimizing (TurboFan) and no baseline (Sparkplug) compiler: their code and the parts
 *   of the node binary they page in cost ~7 MB RSS for the daemon's life, while its time goes
 *   to system calls (listing, add_watch, socket I/O), not to JavaScript;
 * - a semi-space growth factor of 1: V8 otherwise grows the young generation while the
 *   modules load and the first scan allocates, and keeps it for the daemon's life.
 * The launchers also put `--jitless` in NODE_OPTIONS (src/contract/hook.ts
 * DAEMON_NODE_OPTION), which implies the first two but only works from V8's start; these
 * keep a daemon started any other way (`node bin/git-fsmond daemon`, tests) interpreted.
 */
const DAEMON_V8_FLAGS = ['--no-opt', '--no-sparkplug', '--semi-space-growth-factor=1'];

export async function daemonMain(worktree: string): Promise<never> {
  // One call: under --jitless node 20 warns on stderr once per call.
  v8.setFlagsFromString(DAEMON_V8_FLAGS.join(' '));
  let code = 1;
  try {
    const { runDaemon } = await import('../daemon/index.js');
    code = await runDaemon({ dir: worktree, logToStderr: false });
  } catch {
    code = 1;
  }
  process.exit(code);
}
