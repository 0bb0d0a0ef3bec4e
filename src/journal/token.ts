import { NEVER_VALID_ID_PREFIX } from '../contract/index.js';

/**
 * Tokens have git's builtin shape `builtin:<id>:<seq>`, so a token of git's own daemon parses
 * here as a foreign id (and ours there), and both sides answer `/` to the other's tokens.
 */
export interface ParsedToken {
  id: string;
  seq: number;
}

const TOKEN_RE = /^builtin:([^:\0]+):(\d{1,15})$/;

/** Parses a request; anything that is not exactly one of our token shapes yields null. */
export function parseToken(request: string): ParsedToken | null {
  const m = TOKEN_RE.exec(request);
  if (!m) return null;
  return { id: m[1]!, seq: Number(m[2]) };
}

export function formatToken(id: string, seq: number): string {
  return `builtin:${id}:${seq}`;
}

let epochCounter = 0;
/** The next of git's fixed test ids, once GIT_TEST_FSMONITOR_TOKEN asked for them. */
let testIdCounter: number | null = null;

/**
 * GIT_TEST_FSMONITOR_TOKEN, as git's builtin daemon does it: epoch ids `test_00000001`,
 * `test_00000002`, ... that a test can type. They repeat across daemons, so a token of a
 * stopped daemon would be trusted by the next one: for git's test suite only.
 */
export function useTestEpochIds(): void {
  testIdCounter ??= 1;
}

/**
 * A fresh epoch id: unique per daemon process and epoch (unless test ids were asked for), no
 * colon, and never starting like the ids the shim and the daemon use for "never valid".
 */
export function newEpochId(): string {
  if (testIdCounter !== null) return `test_${(testIdCounter++).toString(16).padStart(8, '0')}`;
  const now = new Date().toISOString().replace(/[-:]/g, '').replace('.', '_');
  return `${epochCounter++}.${process.pid}.${now}`;
}

let pendingCounter = 0;

/**
 * A token that no epoch will ever accept: handed out while the daemon cannot vouch for any
 * moment (still scanning, or rescanning after a lost sync).
 */
export function neverValidToken(): string {
  return formatToken(
    `${NEVER_VALID_ID_PREFIX.daemon}${process.pid}.${Date.now()}.${pendingCounter++}`,
    0,
  );
}
