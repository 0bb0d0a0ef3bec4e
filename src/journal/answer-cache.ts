/**
 * A least-recently-used map bounded by the bytes of its values. The journal needs only get,
 * set and clear; lru-cache did the same with ~60 kB of source whose compiled code stayed in
 * the daemon's heap for its whole life (~0.6 MB RSS, bench/memory.ts).
 */
export class SizedLru<V> {
  /** A Map iterates in insertion order: re-inserting on use keeps the oldest first. */
  private readonly entries = new Map<string, { value: V; size: number }>();
  private total = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly sizeOf: (value: V) => number,
  ) {}

  get(key: string): V | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    this.entries.delete(key);
    this.entries.set(key, e);
    return e.value;
  }

  /** A value larger than the whole bound is not kept (nor does it evict the others). */
  set(key: string, value: V): void {
    const size = Math.max(1, this.sizeOf(value));
    this.delete(key);
    if (size > this.maxBytes) return;
    this.entries.set(key, { value, size });
    this.total += size;
    for (const [oldest, e] of this.entries) {
      if (this.total <= this.maxBytes) break;
      this.entries.delete(oldest);
      this.total -= e.size;
    }
  }

  clear(): void {
    this.entries.clear();
    this.total = 0;
  }

  private delete(key: string): void {
    const e = this.entries.get(key);
    if (!e) return;
    this.entries.delete(key);
    this.total -= e.size;
  }
}
