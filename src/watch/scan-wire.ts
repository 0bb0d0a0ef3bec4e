/**
 * The messages between a full scan and its helper process (scan-helper.ts, scan-child.ts).
 *
 * Every message is [u8 kind][u32 payload bytes][payload], little-endian, so a reader knows
 * whether a message is complete before it parses any of it: a directory's listing is applied
 * whole or, if the helper dies in the middle of writing it, not at all (and that directory is
 * listed again by the daemon).
 */

/**
 * Daemon to helper: directories to list, each already watched:
 * [i32 wd][u32 ticket][u16 path bytes][absolute path]... The helper echoes wd and ticket.
 */
export const LIST = 1;

/** Helper to daemon. */
export const FROM_HELPER = {
  ready: 1,
  /**
   * One directory listed: [i32 wd][u32 ticket][u8 errno bytes][errno] then, when the errno is
   * empty, per subdirectory [u16 name bytes][u16 path bytes][absolute path ending in the name].
   */
  dir: 2,
} as const;

const HEADER = 5;

export class WireError extends Error {}

/** Appends messages to one growing buffer; `take()` hands over what was written. */
export class WireWriter {
  private buf = Buffer.allocUnsafe(64 * 1024);
  private at = 0;
  private start = -1;

  get size(): number {
    return this.at;
  }

  begin(kind: number): this {
    this.room(HEADER);
    this.start = this.at;
    this.buf[this.at] = kind;
    this.at += HEADER;
    return this;
  }

  end(): this {
    this.buf.writeUInt32LE(this.at - this.start - HEADER, this.start + 1);
    this.start = -1;
    return this;
  }

  i32(n: number): this {
    this.room(4);
    this.at = this.buf.writeInt32LE(n, this.at);
    return this;
  }

  u32(n: number): this {
    this.room(4);
    this.at = this.buf.writeUInt32LE(n >>> 0, this.at);
    return this;
  }

  u16(n: number): this {
    if (n > 0xffff) throw new WireError(`too long for the wire: ${n}`);
    this.room(2);
    this.at = this.buf.writeUInt16LE(n, this.at);
    return this;
  }

  /** A latin1 string (our byte strings) after its length in `lenBytes` (1 or 2). */
  str(s: string, lenBytes: 1 | 2): this {
    if (s.length >= 2 ** (8 * lenBytes)) throw new WireError(`too long for the wire: ${s.length}`);
    if (lenBytes === 1) {
      this.room(1);
      this.buf[this.at++] = s.length;
    } else {
      this.u16(s.length);
    }
    this.room(s.length);
    this.at += this.buf.write(s, this.at, 'latin1');
    return this;
  }

  /**
   * One LIST item, [i32 wd][u32 ticket][u16 length][src[from, to)], stored byte by byte: the
   * daemon writes one per directory, interpreted, where each Buffer method call costs.
   */
  listItem(wd: number, ticket: number, src: Buffer, from: number, to: number): this {
    const len = to - from;
    if (len > 0xffff) throw new WireError(`too long for the wire: ${len}`);
    this.room(10 + len);
    const b = this.buf;
    let at = this.at;
    b[at++] = wd & 0xff;
    b[at++] = (wd >> 8) & 0xff;
    b[at++] = (wd >> 16) & 0xff;
    b[at++] = (wd >> 24) & 0xff;
    b[at++] = ticket & 0xff;
    b[at++] = (ticket >>> 8) & 0xff;
    b[at++] = (ticket >>> 16) & 0xff;
    b[at++] = (ticket >>> 24) & 0xff;
    b[at++] = len & 0xff;
    b[at++] = len >> 8;
    this.at = at + src.copy(b, at, from, to);
    return this;
  }

  take(): Buffer {
    const out = Buffer.from(this.buf.subarray(0, this.at));
    this.at = 0;
    return out;
  }

  private room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + n));
    this.buf.copy(bigger, 0, 0, this.at);
    this.buf = bigger;
  }
}

/**
 * Splits a byte stream into complete messages; a partial one waits for more bytes. The
 * current message is fields of the reader, not an object: the daemon reads one per directory.
 */
export class WireReader {
  /** The current message: its kind, and its payload as bytes[from, to). */
  kind = 0;
  bytes: Buffer = Buffer.alloc(0);
  from = 0;
  to = 0;
  private at = 0;

  push(chunk: Buffer): void {
    this.bytes =
      this.at < this.bytes.length ? Buffer.concat([this.bytes.subarray(this.at), chunk]) : chunk;
    this.at = 0;
  }

  /** Move to the next complete message; false until more bytes arrive. */
  next(): boolean {
    const b = this.bytes;
    const at = this.at;
    if (b.length - at < HEADER) return false;
    const len = (b[at + 1]! | (b[at + 2]! << 8) | (b[at + 3]! << 16) | (b[at + 4]! << 24)) >>> 0;
    if (b.length - at - HEADER < len) return false;
    this.kind = b[at]!;
    this.from = at + HEADER;
    this.to = this.from + len;
    this.at = this.to;
    return true;
  }
}

/**
 * Reads the fields of one payload, refusing to run past its end. Fields are read in place:
 * the daemon runs interpreted, where an object per subdirectory is what would cost.
 */
export class Fields {
  at: number;

  constructor(
    readonly buf: Buffer,
    from: number,
    readonly end: number,
  ) {
    this.at = from;
  }

  get done(): boolean {
    return this.at >= this.end;
  }

  i32(): number {
    this.need(4);
    const n = this.buf.readInt32LE(this.at);
    this.at += 4;
    return n;
  }

  u32(): number {
    this.need(4);
    const n = this.buf.readUInt32LE(this.at);
    this.at += 4;
    return n;
  }

  u16(): number {
    this.need(2);
    const b = this.buf;
    const n = b[this.at]! | (b[this.at + 1]! << 8);
    this.at += 2;
    return n;
  }

  str(lenBytes: 1 | 2): string {
    const len = lenBytes === 1 ? this.u8() : this.u16();
    this.need(len);
    const s = this.buf.toString('latin1', this.at, this.at + len);
    this.at += len;
    return s;
  }

  private u8(): number {
    this.need(1);
    return this.buf[this.at++]!;
  }

  private need(n: number): void {
    if (this.at + n > this.end) throw new WireError('message shorter than its fields');
  }
}

/**
 * A `dir` message from the helper, read in place: byte arithmetic, not Fields calls, and one
 * reader reused for every message (one per directory of the scan, in the interpreted daemon).
 */
export class DirAnswer {
  wd = 0;
  ticket = 0;
  /** The listing's errno name, or '' when it succeeded. */
  code = '';
  /** The current subdirectory (after nextSubdir()): its name and absolute path buf[from, to). */
  name = '';
  pathFrom = 0;
  pathTo = 0;
  buf: Buffer = Buffer.alloc(0);
  private at = 0;
  private end = 0;

  read(buf: Buffer, from: number, to: number): this {
    if (to - from < 9) throw new WireError('message shorter than its fields');
    this.buf = buf;
    this.end = to;
    this.wd = buf[from]! | (buf[from + 1]! << 8) | (buf[from + 2]! << 16) | (buf[from + 3]! << 24);
    this.ticket =
      (buf[from + 4]! | (buf[from + 5]! << 8) | (buf[from + 6]! << 16) | (buf[from + 7]! << 24)) >>>
      0;
    const codeLen = buf[from + 8]!;
    this.at = from + 9 + codeLen;
    if (this.at > to) throw new WireError('message shorter than its fields');
    this.code = codeLen === 0 ? '' : buf.toString('latin1', from + 9, this.at);
    return this;
  }

  /** The next subdirectory entry; false after the last. */
  nextSubdir(): boolean {
    const b = this.buf;
    const at = this.at;
    if (at >= this.end) return false;
    if (at + 4 > this.end) throw new WireError('message shorter than its fields');
    const nameLen = b[at]! | (b[at + 1]! << 8);
    const pathLen = b[at + 2]! | (b[at + 3]! << 8);
    const to = at + 4 + pathLen;
    if (nameLen === 0 || nameLen > pathLen || to > this.end) {
      throw new WireError('bad subdirectory entry');
    }
    this.at = to;
    this.pathFrom = at + 4;
    this.pathTo = to;
    this.name = b.toString('latin1', to - nameLen, to);
    return true;
  }
}
