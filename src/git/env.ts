import path from 'node:path';

/**
 * Variables git sets, or a user sets, for one command. A daemon outlives the command that
 * started it, and these would redirect its own `git rev-parse` and `git config` calls (another
 * work tree, index, object store or `-c` overrides) or make them write traces to the user's
 * trace target long after that command ended.
 */
const PER_COMMAND = new Set([
  'GIT_WORK_TREE',
  'GIT_INDEX_FILE',
  'GIT_PREFIX',
  'GIT_COMMON_DIR',
  'GIT_OBJECT_DIRECTORY',
  'GIT_ALTERNATE_OBJECT_DIRECTORIES',
  'GIT_NAMESPACE',
  'GIT_CONFIG_PARAMETERS',
  'GIT_CONFIG_COUNT',
  'GIT_QUARANTINE_PATH',
  'GIT_OPTIONAL_LOCKS',
  'GIT_REDIRECT_STDIN',
  'GIT_REDIRECT_STDOUT',
  'GIT_REDIRECT_STDERR',
  'GIT_SHALLOW_FILE',
  'GIT_GRAFT_FILE',
  'GIT_REPLACE_REF_BASE',
  'GIT_NO_REPLACE_OBJECTS',
  'GIT_CEILING_DIRECTORIES',
  'GIT_DISCOVERY_ACROSS_FILESYSTEM',
]);

const PER_COMMAND_PREFIXES = ['GIT_TRACE', 'GIT_CONFIG_KEY_', 'GIT_CONFIG_VALUE_', 'GIT_INTERNAL_'];

/**
 * Removes from `env` what must not reach the daemon's own git calls (see PER_COMMAND). GIT_DIR
 * stays only when absolute: the shims pass it absolute when git ran them with one, and a
 * relative one would be resolved against a different directory than the one it was meant for.
 * Returns the names removed.
 */
export function scrubGitEnv(env: NodeJS.ProcessEnv): string[] {
  const removed: string[] = [];
  for (const name of Object.keys(env)) {
    const drop =
      PER_COMMAND.has(name) ||
      PER_COMMAND_PREFIXES.some((p) => name.startsWith(p)) ||
      (name === 'GIT_DIR' && !path.isAbsolute(env[name] ?? ''));
    if (drop) {
      delete env[name];
      removed.push(name);
    }
  }
  return removed;
}
