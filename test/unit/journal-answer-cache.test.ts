import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SizedLru } from '../../src/journal/answer-cache.js';

const lru = (maxBytes: number) => new SizedLru<string>(maxBytes, (v) => v.length);

test('the least recently used entries go first once the bytes exceed the bound', () => {
  const c = lru(10);
  c.set('a', 'aaaa');
  c.set('b', 'bbbb');
  assert.equal(c.get('a'), 'aaaa', 'a is now the most recently used');
  c.set('c', 'cccc');
  assert.equal(c.get('b'), undefined, 'b was the oldest');
  assert.equal(c.get('a'), 'aaaa');
  assert.equal(c.get('c'), 'cccc');
});

test('a value larger than the bound is not kept and evicts nothing', () => {
  const c = lru(10);
  c.set('a', 'aaaa');
  c.set('big', 'x'.repeat(11));
  assert.equal(c.get('big'), undefined);
  assert.equal(c.get('a'), 'aaaa');
});

test('replacing a key counts only its new size; clear empties it', () => {
  const c = lru(10);
  c.set('a', 'aaaaaaaa');
  c.set('a', 'aa');
  c.set('b', 'bbbbbbbb');
  assert.equal(c.get('a'), 'aa', 'the old size of a must not have been kept');
  c.clear();
  assert.equal(c.get('a'), undefined);
  c.set('c', 'cccccccccc');
  assert.equal(c.get('c'), 'cccccccccc', 'clear must reset the byte count');
});
