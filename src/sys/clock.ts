/**
 * Clocks without the `performance` global: its first use loads perf_hooks, ~0.25-0.75 MB RSS
 * for a daemon's whole life (bench/README.md "Daemon memory"). process.hrtime is always there.
 */

/** Monotonic milliseconds, sub-millisecond precision; only differences mean anything. */
export function monotonicMs(): number {
  const [s, ns] = process.hrtime();
  return s * 1e3 + ns / 1e6;
}

/** Wall-clock time and the monotonic clock read together once; later readings add to it. */
const wallAtStartUs = Date.now() * 1000;
const monoAtStartMs = monotonicMs();

/** Wall-clock microseconds since the epoch, advancing with the monotonic clock. */
export function wallClockUs(): number {
  return Math.round(wallAtStartUs + (monotonicMs() - monoAtStartMs) * 1000);
}
