import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseEvents } from '../../src/watch/inotify-events.js';

/** Encode records the way the kernel does (little-endian here), names NUL-padded to `len`. */
function record(wd: number, mask: number, cookie: number, name?: Buffer, len?: number): Buffer {
  const nlen = name ? (len ?? (Math.floor(name.length / 16) + 1) * 16) : 0;
  const b = Buffer.alloc(16 + nlen);
  b.writeInt32LE(wd, 0);
  b.writeUInt32LE(mask, 4);
  b.writeUInt32LE(cookie, 8);
  b.writeUInt32LE(nlen, 12);
  name?.copy(b, 16);
  return b;
}

test('records with and without names, byte-exact names', () => {
  const buf = Buffer.concat([
    record(1, 0x100, 0, Buffer.from('f0')),
    record(2, 0x4, 0), // len 0: about the watched directory itself
    record(3, 0x40, 77, Buffer.from([0x66, 0xff, 0x2e, 0x74])),
    record(-1, 0x4000, 0),
  ]);
  const evs = parseEvents(buf, buf.length);
  assert.deepEqual(evs, [
    { wd: 1, mask: 0x100, cookie: 0, name: 'f0' },
    { wd: 2, mask: 0x4, cookie: 0, name: null },
    { wd: 3, mask: 0x40, cookie: 77, name: 'f\xff.t' },
    { wd: -1, mask: 0x4000, cookie: 0, name: null },
  ]);
});

test('a len==0 record never takes its name from the bytes that follow (bug F)', () => {
  const stale = Buffer.alloc(64, 0x41); // leftovers of an earlier, longer read
  const rec = record(5, 0x4, 0);
  rec.copy(stale, 0);
  const evs = parseEvents(stale, rec.length);
  assert.deepEqual(evs, [{ wd: 5, mask: 0x4, cookie: 0, name: null }]);
});

test('a name exactly filling len (no NUL) and an all-NUL name', () => {
  const full = record(1, 0x2, 0, Buffer.from('abcdefghijklmnop'), 16);
  const nul = record(2, 0x2, 0, Buffer.alloc(0), 16);
  const evs = parseEvents(Buffer.concat([full, nul]), full.length + nul.length);
  assert.equal(evs[0]!.name, 'abcdefghijklmnop');
  assert.equal(evs[1]!.name, null);
});

test('truncated records are an error, not a guess', () => {
  const r = record(1, 0x100, 0, Buffer.from('name'));
  assert.throws(() => parseEvents(r, 10), /truncated/);
  assert.throws(() => parseEvents(r, r.length - 4), /truncated/);
});
