import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Answer, Journal, parseToken } from '../../src/journal/index.js';

function journal(maxRetainedPaths = 1000): Journal {
  return new Journal({ maxRetainedPaths, cacheBytes: 1 << 20 });
}

function paths(a: Answer): string[] {
  const parts = a.payload.toString('latin1').split('\0');
  assert.equal(parts[0], a.token);
  assert.equal(parts.at(-1), '', 'payload must end with NUL');
  return parts.slice(1, -1).sort();
}

test('a token is answered with the union of everything added after it', () => {
  const j = journal();
  j.startEpoch();
  const t0 = j.answer('builtin:fake').token;
  j.add(['a', 'b']);
  const a1 = j.answer(t0);
  assert.equal(a1.trivial, false);
  assert.deepEqual(paths(a1), ['a', 'b']);
  j.add(['c', 'a']);
  assert.deepEqual(paths(j.answer(a1.token)), ['a', 'c']);
  assert.deepEqual(paths(j.answer(t0)), ['a', 'b', 'c'], 'an old token keeps being answered');
});

test('no change since the token gives the same token and no paths', () => {
  const j = journal();
  j.startEpoch();
  const t = j.answer('0').token;
  const a = j.answer(t);
  assert.equal(a.token, t);
  assert.equal(a.payload.toString('latin1'), `${t}\0`);
});

test('anything we cannot vouch for is answered with / and a usable token', () => {
  const j = journal();
  j.startEpoch();
  const good = j.answer('').token;
  const { id, seq } = parseToken(good)!;
  for (const req of [
    '',
    '1795309862544534335',
    'builtin:fake',
    'builtin:',
    `builtin:${id}:`,
    `builtin:${id}:x`,
    `builtin:${id}:${seq + 100000}`,
    `builtin:other:${seq}`,
    'garbage\0bytes',
    'c:123:456',
  ]) {
    const a = j.answer(req);
    assert.equal(a.trivial, true, req);
    assert.equal(a.payload.toString('latin1'), `${a.token}\0/\0`);
    j.add(['after']);
    assert.deepEqual(paths(j.answer(a.token)), ['after'], `token returned for ${req} works`);
  }
});

test('a new epoch makes every older token trivial', () => {
  const j = journal();
  j.startEpoch();
  const t = j.answer('x').token;
  j.add(['a']);
  j.startEpoch();
  const a = j.answer(t);
  assert.equal(a.trivial, true);
  assert.notEqual(parseToken(a.token)!.id, parseToken(t)!.id);
});

test('before the first epoch and after invalidate, tokens can never be valid', () => {
  const j = journal();
  const a = j.answer('anything');
  assert.equal(a.trivial, true);
  j.startEpoch();
  const b = j.answer(a.token);
  assert.equal(b.trivial, true, 'a token issued while not ready is never valid later');
  j.add(['x']);
  j.invalidate();
  const c = j.answer(b.token);
  assert.equal(c.trivial, true);
  j.add(['dropped while not watching']);
  j.startEpoch();
  assert.equal(j.answer(c.token).trivial, true);
});

test('history beyond the bound is dropped and older tokens become trivial', () => {
  const j = journal(10);
  j.startEpoch();
  const t0 = j.answer('x').token;
  j.add(['a', 'b', 'c', 'd', 'e', 'f']);
  const t1 = j.answer(t0).token;
  j.add(['g', 'h', 'i', 'j', 'k', 'l']);
  const a = j.answer(t0);
  assert.equal(a.trivial, true, 'the batch after t0 was dropped');
  assert.deepEqual(paths(j.answer(t1)), ['g', 'h', 'i', 'j', 'k', 'l']);
  assert.ok(j.stats().retainedPaths <= 10);
});

test('a single burst larger than the bound makes every answer spanning it trivial', () => {
  const j = journal(5);
  j.startEpoch();
  const t0 = j.answer('x').token;
  j.add(Array.from({ length: 20 }, (_, i) => `f${i}`));
  const a = j.answer(t0);
  assert.equal(a.trivial, true);
  j.add(['late']);
  assert.equal(j.answer(t0).trivial, true, 'still spans the overflowed batch');
  assert.deepEqual(paths(j.answer(a.token)), ['late']);
  assert.ok(j.stats().retainedPaths <= 5);
});

test('paths git must never see are not reported', () => {
  const j = journal();
  j.startEpoch();
  const t = j.answer('x').token;
  j.add(['', '/abs', '.git', '.git/index', 'ok', '.gitignore', 'a/.git']);
  assert.deepEqual(paths(j.answer(t)), ['.gitignore', 'a/.git', 'ok']);
});

test('repeated identical queries are served from the cache with identical bytes', () => {
  const j = journal();
  j.startEpoch();
  const t = j.answer('x').token;
  j.add(['a', 'b']);
  const first = j.answer(t);
  const second = j.answer(t);
  assert.equal(second.payload, first.payload);
  assert.equal(j.stats().cacheHits, 1);
  j.add(['c']);
  assert.deepEqual(paths(j.answer(t)), ['a', 'b', 'c'], 'a new head is not served stale');
});

test('byte strings survive: non-UTF-8 names come out byte-exact', () => {
  const j = journal();
  j.startEpoch();
  const t = j.answer('x').token;
  const name = Buffer.from([0x66, 0xff, 0x2e, 0xc3, 0xa6]).toString('latin1');
  j.add([name]);
  const a = j.answer(t);
  const expected = Buffer.concat([
    Buffer.from(`${a.token}\0`),
    Buffer.from([0x66, 0xff, 0x2e, 0xc3, 0xa6, 0]),
  ]);
  assert.deepEqual(a.payload, expected);
});

test('a token shown by status is pinned: changes after it are in its answer', () => {
  const j = journal();
  j.startEpoch();
  j.add(['before']);
  const shown = j.pinnedToken()!;
  j.add(['after']);
  assert.deepEqual(paths(j.answer(shown)), ['after']);
});
