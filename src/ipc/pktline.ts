/**
 * pkt-line framing as git's simple-ipc uses it (docs/protocol.md#pkt-line).
 *
 * A packet is 4 hex digits (header + payload length) followed by the payload; `0000` ends a
 * message. Packet boundaries carry no meaning: the message is the concatenation of payloads.
 */

/** git's LARGE_PACKET_MAX: the longest packet, header included. */
export const MAX_PACKET = 65520;
/** git's LARGE_PACKET_DATA_MAX. */
export const MAX_PAYLOAD = MAX_PACKET - 4;
export const FLUSH: Buffer = Buffer.from('0000');

export type PktLineErrorCode =
  | 'bad-hex'
  | 'bad-length'
  | 'too-long-packet'
  | 'message-too-large'
  | 'truncated';

export class PktLineError extends Error {
  readonly code: PktLineErrorCode;
  constructor(code: PktLineErrorCode, message: string) {
    super(message);
    this.name = 'PktLineError';
    this.code = code;
  }
}

function header(packetLength: number): Buffer {
  return Buffer.from(packetLength.toString(16).padStart(4, '0'), 'latin1');
}

/**
 * Frames `payload` (the concatenation of the chunks) as one message. The result is a list of
 * buffers to write in order; payload bytes are subarrays of the input, never copies, so a
 * multi-megabyte answer costs only the 4-byte headers. Empty chunks are skipped so that no
 * empty data packet (`0004`) is ever produced: git readers take `0004` as end of message.
 */
export function encodeMessage(payload: Buffer | Buffer[]): Buffer[] {
  const chunks = Array.isArray(payload) ? payload : [payload];
  let remaining = 0;
  for (const chunk of chunks) remaining += chunk.length;
  const out: Buffer[] = [];
  let room = 0; // payload bytes still owed to the packet being filled
  for (const chunk of chunks) {
    let pos = 0;
    while (pos < chunk.length) {
      if (room === 0) {
        room = Math.min(MAX_PAYLOAD, remaining);
        out.push(header(room + 4));
      }
      const take = Math.min(room, chunk.length - pos);
      out.push(take === chunk.length ? chunk : chunk.subarray(pos, pos + take));
      pos += take;
      room -= take;
      remaining -= take;
    }
  }
  out.push(FLUSH);
  return out;
}

export interface PktLineDecoderOptions {
  /** Largest accepted message (sum of payloads); checked at each header, before buffering. */
  maxMessageBytes: number;
}

function hexDigit(byte: number): number {
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  const lower = byte | 0x20; // git's hexval accepts both cases
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10;
  return -1;
}

/**
 * Incremental reader for one message.
 *
 * Decisions, where git leaves room:
 * - `0000` ends the message.
 * - `0004` (an empty data packet) also ends the message: git's read_packetized_to_strbuf stops
 *   on it, so treating it the same way answers exactly what git's own daemon would answer.
 * - `0001`/`0002` (protocol-v2 delim and response-end) have no place in simple-ipc; they and
 *   `0003` are rejected as 'bad-length' rather than taken as an end, so a stray
 *   protocol-v2 peer is dropped instead of being answered.
 * - Once a message is complete, further bytes (in the same chunk or later) are ignored: each
 *   connection carries one message per direction, and trailing bytes cannot change it.
 * - After an error the decoder stays failed and rethrows the same error.
 *
 * Pushed chunks are referenced, not copied, until the message is complete; do not reuse them.
 */
export class PktLineDecoder {
  private readonly maxMessageBytes: number;
  private readonly head = Buffer.alloc(4);
  private headFill = 0;
  /** Payload bytes still expected for the current packet; 0 means a header comes next. */
  private want = 0;
  private parts: Buffer[] = [];
  private size = 0;
  private received = 0;
  private failure: PktLineError | undefined;
  private complete = false;

  constructor(opts: PktLineDecoderOptions) {
    this.maxMessageBytes = opts.maxMessageBytes;
  }

  /** Total bytes pushed so far; 0 at EOF means the peer only pinged. */
  get bytesReceived(): number {
    return this.received;
  }

  /** True once the flush arrived and the message was returned. */
  get done(): boolean {
    return this.complete;
  }

  /** Returns the whole payload when the message ends in this chunk, else undefined. */
  push(chunk: Buffer): Buffer | undefined {
    if (this.failure) throw this.failure;
    if (this.complete) return undefined;
    this.received += chunk.length;
    let pos = 0;
    while (pos < chunk.length) {
      if (this.want > 0) {
        const take = Math.min(this.want, chunk.length - pos);
        this.parts.push(chunk.subarray(pos, pos + take));
        this.want -= take;
        pos += take;
        continue;
      }
      const take = Math.min(4 - this.headFill, chunk.length - pos);
      chunk.copy(this.head, this.headFill, pos, pos + take);
      this.headFill += take;
      pos += take;
      if (this.headFill < 4) break;
      this.headFill = 0;
      const len = this.parseHeader();
      if (len === 0 || len === 4) {
        this.complete = true;
        const message = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts);
        this.parts = [];
        return message;
      }
      this.want = len - 4;
    }
    return undefined;
  }

  /** Call at EOF: throws 'truncated' unless the message was complete. */
  end(): void {
    if (this.failure) throw this.failure;
    if (this.complete) return;
    this.fail(
      'truncated',
      `pkt-line message truncated: EOF after ${this.received} bytes, before the flush packet`,
    );
  }

  private parseHeader(): number {
    let len = 0;
    for (let i = 0; i < 4; i++) {
      const digit = hexDigit(this.head[i]!);
      if (digit < 0) {
        this.fail('bad-hex', `bad pkt-line header ${JSON.stringify(this.head.toString('latin1'))}`);
      }
      len = len * 16 + digit;
    }
    if (len >= 1 && len <= 3) this.fail('bad-length', `bad pkt-line length ${len}`);
    if (len > MAX_PACKET) {
      this.fail('too-long-packet', `pkt-line length ${len} exceeds ${MAX_PACKET}`);
    }
    if (len > 4 && this.size + len - 4 > this.maxMessageBytes) {
      this.fail(
        'message-too-large',
        `pkt-line message exceeds ${this.maxMessageBytes} bytes (${this.size + len - 4} announced)`,
      );
    }
    if (len > 4) this.size += len - 4;
    return len;
  }

  private fail(code: PktLineErrorCode, message: string): never {
    this.parts = [];
    this.failure = new PktLineError(code, message);
    throw this.failure;
  }
}
