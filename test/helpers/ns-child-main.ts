/** The entry point of a script that runs/unshared (lifecycle-ns.ts runUnshared): one JSON line. */
import fs from 'node:fs';

/** In the initial namespace these sysctls and mounts are machine-wide: touch nothing there. */
export function inOwnUserNamespace(): boolean {
  try {
    const map = fs.readFileSync('/proc/self/uid_map', 'utf8').trim().split(/\s+/);
    return !(map.length === 3 && map[0] === '0' && map[1] === '0' && map[2] === '4294967295');
  } catch {
    return false;
  }
}

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
