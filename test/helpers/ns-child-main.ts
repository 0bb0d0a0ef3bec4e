/** The entry point of a script that runs/unshared (lifecycle-ns.ts runUnshared): one JSON line. */
import { inOwnUserNamespace } from '../../bench/userns.js';

export { inOwnUserNamespace };

/**
 * Runs the mode named by argv[2] and prints its facts as one JSON line ({skip} outside a user
 * namespace of its own, {error} when it threw), then exits.
 */
export function namespaceMain(modes: Record<string, () => Promise<Record<string, unknown>>>): void {
  const run = async () => {
    const mode = modes[process.argv[2] ?? ''];
    if (process.argv[3] !== '--in-user-namespace' || !inOwnUserNamespace() || !mode) {
      return { skip: 'not in a user namespace of its own; touching nothing' };
    }
    return mode();
  };
  run().then(
    (res) => {
      console.log(JSON.stringify(res));
      process.exit(0);
    },
    (err) => {
      console.log(JSON.stringify({ error: String((err as Error)?.stack ?? err) }));
      process.exit(1);
    },
  );
}
