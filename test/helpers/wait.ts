/**
 * The one way tests wait. Every limit here is a hang guard, never a timing assertion: a
 * condition that holds returns at once, so the guard can be generous for a shared machine
 * and costs time only when something is already broken.
 */
import { setTimeout as sleep } from 'node:timers/promises';

export { sleep };

export const HANG_GUARD_MS = 30_000;

export interface WaitOptions {
  /** Fail after this long (default HANG_GUARD_MS). */
  timeoutMs?: number;
}

type Found<T> = Exclude<T, false | null | undefined>;

/**
 * Polls `check` every 10 ms until it returns something other than false, null or undefined,
 * and returns that; a throw from `check` (a process that died meanwhile, say) ends the wait.
 */
export async function waitFor<T>(
  what: string,
  check: () => T | Promise<T>,
  opts: WaitOptions = {},
): Promise<Found<T>> {
  const ms = opts.timeoutMs ?? HANG_GUARD_MS;
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== false && v !== null && v !== undefined) return v as Found<T>;
    if (Date.now() > deadline)
      throw new Error(`hang guard: still waiting for ${what} after ${ms} ms`);
    await sleep(10);
  }
}

/** `promise`, or a rejection naming `what` once the hang guard runs out. */
export async function withHangGuard<T>(
  what: string,
  promise: Promise<T>,
  opts: WaitOptions = {},
): Promise<T> {
  const ms = opts.timeoutMs ?? HANG_GUARD_MS;
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`hang guard: ${what} after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, guard]);
  } finally {
    clearTimeout(timer);
  }
}
