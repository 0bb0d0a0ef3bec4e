import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  encodeMessage,
  FLUSH,
  MAX_PACKET,
  MAX_PAYLOAD,
  PktLineDecoder,
  PktLineError,
  type PktLineErrorCode,
} from '../../src/ipc/index.js';
import { pattern } from '../helpers/ipc-util.js';

const BIG = { maxMessageBytes: 64 * 1024 * 1024 };

/** An independent reader of encoder output: checks every header and returns packet sizes. */
function parseWire(wire: Buffer): { payload: Buffer; sizes: number[] } {
  const sizes: number[] = [];
  const parts: Buffer[] = [];
  let pos = 0;
  for (;;) {
    const head = wire.subarray(pos, pos + 4).toString('latin1');
    assert.match(head, /^[0-9a-f]{4}$/, `lowercase hex header at ${pos}`);
    const len = Number.parseInt(head, 16);
    pos += 4;
    if (len === 0) break;
    assert.ok(len > 4, `no empty or control packet at ${pos - 4} (got ${head})`);
    assert.ok(len <= MAX_PACKET, `packet at ${pos - 4} too long: ${len}`);
    sizes.push(len - 4);
    parts.push(wire.subarray(pos, pos + len - 4));
    pos += len - 4;
  }
  assert.equal(pos, wire.length, 'nothing after the flush packet');
  return { payload: Buffer.concat(parts), sizes };
}

function decodeAll(wire: Buffer, chunkSizes: number[] = [wire.length]): Buffer | undefined {
  const d = new PktLineDecoder(BIG);
  let pos = 0;
  let out: Buffer | undefined;
  for (const size of chunkSizes) {
    const got = d.push(wire.subarray(pos, pos + size));
    pos += size;
    if (got) {
      assert.equal(out, undefined, 'message returned once');
      out = got;
    }
  }
  return out;
}

function expectError(code: PktLineErrorCode, fn: () => unknown) {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof PktLineError, `PktLineError, got ${String(err)}`);
    assert.equal(err.code, code);
    return true;
  });
}

test('constants match git (LARGE_PACKET_MAX, LARGE_PACKET_DATA_MAX, flush)', () => {
  assert.equal(MAX_PACKET, 65520);
  assert.equal(MAX_PAYLOAD, 65516);
  assert.equal(FLUSH.toString(), '0000');
});

test('the documented example: builtin:x:1 is 000fbuiltin:x:10000', () => {
  const wire = Buffer.concat(encodeMessage(Buffer.from('builtin:x:1')));
  assert.equal(wire.toString(), '000fbuiltin:x:10000');
  assert.equal(decodeAll(Buffer.from('000fbuiltin:x:10000'))?.toString(), 'builtin:x:1');
});

test('empty message is only a flush packet, both ways', () => {
  for (const input of [Buffer.alloc(0), [], [Buffer.alloc(0), Buffer.alloc(0)]]) {
    assert.equal(Buffer.concat(encodeMessage(input)).toString(), '0000');
  }
  const got = decodeAll(Buffer.from('0000'));
  assert.ok(got);
  assert.equal(got.length, 0);
});

test('round trips around the packet size and beyond, never an empty packet', () => {
  const cases: Array<[number, number[]]> = [
    [1, [1]],
    [MAX_PAYLOAD - 1, [MAX_PAYLOAD - 1]],
    [MAX_PAYLOAD, [MAX_PAYLOAD]],
    [MAX_PAYLOAD + 1, [MAX_PAYLOAD, 1]],
    [2 * MAX_PAYLOAD, [MAX_PAYLOAD, MAX_PAYLOAD]],
  ];
  for (const [n, expectedSizes] of cases) {
    const payload = pattern(n, n);
    const wire = Buffer.concat(encodeMessage(payload));
    const { payload: parsed, sizes } = parseWire(wire);
    assert.deepEqual(sizes, expectedSizes, `packet sizes for ${n}`);
    assert.ok(parsed.equals(payload), `encoded payload for ${n}`);
    assert.ok(decodeAll(wire)?.equals(payload), `decoded payload for ${n}`);
  }
});

test('multi-megabyte round trip, fed in odd-sized chunks', () => {
  const payload = pattern(5 * 1024 * 1024 + 3, 1);
  const wire = Buffer.concat(encodeMessage(payload));
  const { sizes } = parseWire(wire);
  assert.equal(sizes.length, Math.ceil(payload.length / MAX_PAYLOAD));
  const chunkSizes: number[] = [];
  for (let left = wire.length, s = 1; left > 0; s = (s * 31 + 7) % 100_003) {
    chunkSizes.push(Math.min(left, s + 1));
    left -= s + 1;
  }
  assert.ok(decodeAll(wire, chunkSizes)?.equals(payload));
});

test('encoder frames the concatenation of chunks and does not copy payload bytes', () => {
  const chunks = [
    pattern(70_000, 2),
    Buffer.alloc(0),
    pattern(3, 3),
    pattern(MAX_PAYLOAD - 3, 4),
    pattern(1, 5),
    pattern(200_000, 6),
  ];
  const out = encodeMessage(chunks);
  const whole = Buffer.concat(chunks);
  const { payload, sizes } = parseWire(Buffer.concat(out));
  assert.ok(payload.equals(whole));
  assert.ok(
    sizes.slice(0, -1).every((s) => s === MAX_PAYLOAD),
    'full packets except the last',
  );
  const inputMemory = new Set(chunks.map((c) => c.buffer));
  const payloadPieces = out.filter((b) => b.length > 4);
  assert.ok(payloadPieces.length > 0);
  for (const piece of payloadPieces) {
    assert.ok(inputMemory.has(piece.buffer), 'payload pieces are views of the input');
  }
});

test('decoder survives a split at every byte, and byte-by-byte feeding', () => {
  // Several packets, mixed-case hex, then bytes after the flush that must be ignored.
  const wire = Buffer.from('0009abcde000Dbuiltin:x0005/0004zzzz0000trailing');
  const expected = 'abcdebuiltin:x/';
  // `0004` ends the message (git compatibility), so the rest never counts.
  for (let cut = 0; cut <= wire.length; cut++) {
    const got = decodeAll(wire, [cut, wire.length - cut]);
    assert.equal(got?.toString(), expected, `split at ${cut}`);
  }
  assert.equal(decodeAll(wire, Array(wire.length).fill(1))?.toString(), expected);

  const flushOnly = Buffer.from('000fbuiltin:x:10000');
  for (let cut = 0; cut <= flushOnly.length; cut++) {
    assert.equal(decodeAll(flushOnly, [cut, flushOnly.length - cut])?.toString(), 'builtin:x:1');
  }
});

test('decoder split at every byte around a packet boundary of a long message', () => {
  const payload = pattern(MAX_PAYLOAD + 100, 9);
  const wire = Buffer.concat(encodeMessage(payload));
  const interesting = new Set<number>();
  for (const center of [0, MAX_PACKET, wire.length - 4]) {
    for (let d = -8; d <= 8; d++) {
      const cut = center + d;
      if (cut >= 0 && cut <= wire.length) interesting.add(cut);
    }
  }
  for (const cut of interesting) {
    assert.ok(decodeAll(wire, [cut, wire.length - cut])?.equals(payload), `split at ${cut}`);
  }
});

test('0004 (empty data packet) ends the message like 0000, as git reads it', () => {
  const d = new PktLineDecoder(BIG);
  assert.equal(d.push(Buffer.from('0007abc0004'))?.toString(), 'abc');
  assert.equal(d.done, true);
});

test('every error code', () => {
  const fresh = (max = 1024) => new PktLineDecoder({ maxMessageBytes: max });
  expectError('bad-hex', () => fresh().push(Buffer.from('zzzz')));
  expectError('bad-hex', () => fresh().push(Buffer.from('00g5x')));
  expectError('bad-hex', () => fresh().push(Buffer.from(' 005x')));
  expectError('bad-hex', () => fresh().push(Buffer.from('0005x+000')));
  for (const len of ['0001', '0002', '0003']) {
    expectError('bad-length', () => fresh().push(Buffer.from(len)));
  }
  expectError('too-long-packet', () => fresh().push(Buffer.from('fff1')));
  expectError('too-long-packet', () => fresh().push(Buffer.from('FFFF')));
  // Rejected at the header, before any payload is buffered.
  expectError('message-too-large', () => fresh(10).push(Buffer.from('000f')));
  const twoPackets = fresh(10);
  assert.equal(twoPackets.push(Buffer.from('0009abcde')), undefined);
  expectError('message-too-large', () => twoPackets.push(Buffer.from('000a')));
  // EOF before the flush, at every kind of position.
  for (const partial of ['', '00', '0009ab', '0009abcde']) {
    const d = fresh();
    d.push(Buffer.from(partial));
    expectError('truncated', () => d.end());
    assert.equal(d.bytesReceived, partial.length);
  }
});

test('size cap is inclusive', () => {
  const exact = new PktLineDecoder({ maxMessageBytes: 5 });
  assert.equal(exact.push(Buffer.from('0009abcde0000'))?.toString(), 'abcde');
  const over = new PktLineDecoder({ maxMessageBytes: 4 });
  expectError('message-too-large', () => over.push(Buffer.from('0009abcde0000')));
});

test('a failed decoder stays failed; a finished one ignores more input and EOF', () => {
  const failed = new PktLineDecoder(BIG);
  expectError('bad-hex', () => failed.push(Buffer.from('xyzw')));
  expectError('bad-hex', () => failed.push(Buffer.from('0000')));
  expectError('bad-hex', () => failed.end());

  const finished = new PktLineDecoder(BIG);
  assert.equal(finished.push(Buffer.from('0006ok00'))?.toString(), undefined);
  assert.equal(finished.push(Buffer.from('00garbage'))?.toString(), 'ok');
  assert.equal(finished.push(Buffer.from('zzzz')), undefined);
  assert.doesNotThrow(() => finished.end());
});

test('uppercase hex is accepted', () => {
  const payload = pattern(10, 3);
  const wire = Buffer.concat([Buffer.from('000E'), payload, Buffer.from('0000')]);
  assert.ok(decodeAll(wire)?.equals(payload));
});
