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

/**
 * A fresh epoch id: unique per daemon process and epoch, no colon, and always starting with a
 * digit so it can never collide with the ids the shim and the daemon use for "never valid".
 */
export function newEpochId(): string {
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
