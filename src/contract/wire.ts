/**
 * Requests a client may send instead of a token: git's own `quit` and `flush` (git's builtin
 * daemon knows them too) and our status snapshot for the CLI.
 */
export const REQUEST = {
  quit: 'quit',
  flush: 'flush',
  status: 'fsmond:status',
} as const;

/**
 * Token ids that no epoch ever accepts. Epoch ids start with a digit (journal/token.ts), so
 * neither prefix can collide with one: the daemon hands out `pending.*` while it cannot vouch
 * for any moment, the shims print `fsmond-unavailable.*` with `/` when no daemon answered.
 */
export const NEVER_VALID_ID_PREFIX = {
  daemon: 'pending.',
  shim: 'fsmond-unavailable.',
} as const;
