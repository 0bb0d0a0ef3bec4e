/**
 * The scan helper's messages (src/watch/scan-wire.ts) as pure logic: what one side writes the
 * other reads back exactly, however the stream is cut, and malformed input is refused.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  DirAnswer,
  Fields,
  FROM_HELPER,
  LIST,
  WireError,
  WireReader,
  WireWriter,
} from '../../src/watch/scan-wire.js';

interface Dir {
  wd: number;
  ticket: number;
  code: string;
  subdirs: Array<[name: string, path: string]>;
}

function dirMessage(w: WireWriter, d: Dir): void {
  w.begin(FROM_HELPER.dir).i32(d.wd).u32(d.ticket).str(d.code, 1);
  for (const [name, path] of d.subdirs) w.u16(name.length).str(path, 2);
  w.end();
}

function readDirs(r: WireReader): Dir[] {
  const out: Dir[] = [];
  const a = new DirAnswer();
  while (r.next()) {
    assert.equal(r.kind, FROM_HELPER.dir);
    a.read(r.bytes, r.from, r.to);
    const d: Dir = { wd: a.wd, ticket: a.ticket, code: a.code, subdirs: [] };
    while (a.nextSubdir())
      d.subdirs.push([a.name, r.bytes.toString('latin1', a.pathFrom, a.pathTo)]);
    out.push(d);
  }
  return out;
}

const latin1 = (bytes: number[]) => Buffer.from(bytes).toString('latin1');
const DIRS: Dir[] = [
  {
    wd: 1,
    ticket: 0,
    code: '',
    subdirs: [
      ['a', '/w/a'],
      ['bb', '/w/bb'],
    ],
  },
  { wd: 7, ticket: 0xfffffffe, code: 'EACCES', subdirs: [] },
  { wd: 2 ** 31 - 1, ticket: 3, code: '', subdirs: [] },
  // Not UTF-8: names are bytes, carried as latin1 strings.
  {
    wd: 9,
    ticket: 1,
    code: '',
    subdirs: [[latin1([0xff, 0xe9]), latin1([0x2f, 0x78, 0x2f, 0xff, 0xe9])]],
  },
];

test('dir messages read back exactly, whole or cut into any chunks', () => {
  const w = new WireWriter();
  for (const d of DIRS) dirMessage(w, d);
  const bytes = w.take();
  const whole = new WireReader();
  whole.push(bytes);
  assert.deepEqual(readDirs(whole), DIRS);
  for (const size of [1, 2, 3, 7, 64]) {
    const r = new WireReader();
    const got: Dir[] = [];
    for (let at = 0; at < bytes.length; at += size) {
      r.push(bytes.subarray(at, at + size));
      got.push(...readDirs(r));
    }
    assert.deepEqual(got, DIRS, `chunks of ${size}`);
  }
});

test('a message is not read until all of it has arrived', () => {
  const w = new WireWriter();
  dirMessage(w, DIRS[0]!);
  const bytes = w.take();
  const r = new WireReader();
  r.push(bytes.subarray(0, bytes.length - 1));
  assert.equal(r.next(), false);
  r.push(bytes.subarray(bytes.length - 1));
  assert.deepEqual(readDirs(r), [DIRS[0]]);
});

test('LIST items read back with their wd, ticket and path bytes', () => {
  const src = Buffer.from(`xx/w/a/${latin1([0xfe])}yy`, 'latin1');
  const w = new WireWriter().begin(LIST);
  w.listItem(5, 0xffffffff, src, 2, src.length - 2).listItem(-1, 0, src, 0, 0);
  const r = new WireReader();
  r.push(w.end().take());
  assert.ok(r.next());
  assert.equal(r.kind, LIST);
  const f = new Fields(r.bytes, r.from, r.to);
  assert.deepEqual([f.i32(), f.u32(), f.str(2)], [5, 0xffffffff, `/w/a/${latin1([0xfe])}`]);
  assert.deepEqual([f.i32(), f.u32(), f.str(2)], [-1, 0, '']);
  assert.ok(f.done);
  assert.equal(r.next(), false);
});

test('malformed dir messages are refused, never read past their end', () => {
  const cases: Array<[string, (w: WireWriter) => void]> = [
    ['shorter than its fixed fields', (w) => w.begin(FROM_HELPER.dir).i32(1).end()],
    ['errno running past the end', (w) => w.begin(FROM_HELPER.dir).i32(1).u32(0).str('', 1).end()],
    [
      'name longer than its path',
      (w) => w.begin(FROM_HELPER.dir).i32(1).u32(0).str('', 1).u16(5).str('/a', 2).end(),
    ],
    [
      'empty name',
      (w) => w.begin(FROM_HELPER.dir).i32(1).u32(0).str('', 1).u16(0).str('/a', 2).end(),
    ],
    ['entry cut short', (w) => w.begin(FROM_HELPER.dir).i32(1).u32(0).str('', 1).u16(1).end()],
  ];
  for (const [what, build] of cases) {
    const w = new WireWriter();
    build(w);
    const bytes = w.take();
    if (what === 'errno running past the end') bytes[bytes.length - 1] = 200;
    const r = new WireReader();
    r.push(bytes);
    assert.ok(r.next(), what);
    assert.throws(
      () => {
        const a = new DirAnswer().read(r.bytes, r.from, r.to);
        while (a.nextSubdir());
      },
      WireError,
      what,
    );
  }
});

test('strings too long for their length field are refused when written', () => {
  assert.throws(() => new WireWriter().str('x'.repeat(256), 1), WireError);
  assert.throws(() => new WireWriter().str('x'.repeat(65536), 2), WireError);
  const big = Buffer.alloc(65536);
  assert.throws(() => new WireWriter().begin(LIST).listItem(1, 0, big, 0, big.length), WireError);
});
