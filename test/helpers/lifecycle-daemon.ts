/**
 * `node lifecycle-daemon.js <worktree>`: the daemon in the foreground, like `git-fsmond run`
 * but without the CLI in between, logging to stderr as well. The lifecycle tests read its
 * stderr when the git dir that held its log file is gone. A refusal is one line on stderr.
 */
import { runDaemon } from '../../src/daemon/index.js';

const dir = process.argv[2];
if (!dir) {
  process.stderr.write('usage: lifecycle-daemon.js <worktree>\n');
  process.exit(2);
}
runDaemon({ dir, logToStderr: true }).then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`git-fsmond: ${err.message}\n`);
    process.exit(1);
  },
);
