/** mulberry32: tiny, fast, and the same sequence for the same seed on every machine. */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }

  chance(p: number): boolean {
    return this.next() < p;
  }
}

let serial = 0;

/**
 * A new name as bytes: plain, with spaces, unicode, or bytes that are not UTF-8 at all, since
 * git compares names byte for byte and so must we.
 */
export function randomName(rng: Rng, kind: 'file' | 'dir'): Buffer {
  const n = serial++;
  const base = kind === 'file' ? 'f' : 'd';
  switch (rng.int(0, 9)) {
    case 0:
      return Buffer.from(`${base} with space ${n}`);
    case 1:
      return Buffer.from(`${base}-ünïcødé-${n}`);
    case 2:
      return Buffer.from(`${base}♫${n}`);
    case 3:
      return Buffer.concat([
        Buffer.from(`${base}`),
        Buffer.from([0xff, 0xfe]),
        Buffer.from(`${n}`),
      ]);
    case 4:
      return Buffer.from(`.${base}hidden${n}`);
    default:
      return Buffer.from(kind === 'file' ? `${base}${n}.txt` : `${base}${n}`);
  }
}
