/**
 * The progress `enable` shows while a big tree is registered. A fake stream and clock: a real
 * registration slow enough to show it would need a huge tree and make the test about timing.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Progress } from '../../src/cli/progress.js';

function fake(isTTY: boolean) {
  const writes: string[] = [];
  let now = 0;
  return {
    writes,
    stream: { isTTY, write: (s: string) => writes.push(s) },
    clock: { now: () => now, advance: (ms: number) => (now += ms) },
  };
}

describe('cli progress', () => {
  test('not a terminal: whole lines, a few seconds apart, nothing for quick work', () => {
    const f = fake(false);
    const p = new Progress(f.stream, { now: f.clock.now, delayMs: 2000, lineEveryMs: 5000 });
    p.update('registering watches: 10 directories');
    f.clock.advance(1999);
    p.update('registering watches: 20 directories');
    assert.deepEqual(f.writes, [], 'nothing before the delay');
    f.clock.advance(1);
    p.update('registering watches: 30 directories');
    f.clock.advance(4999);
    p.update('registering watches: 40 directories');
    f.clock.advance(1);
    p.update('registering watches: 50 directories');
    p.done();
    assert.deepEqual(f.writes, [
      'registering watches: 30 directories\n',
      'registering watches: 50 directories\n',
    ]);
    assert.ok(f.writes.every((w) => !/[\r\x1b]/.test(w)));
  });

  test('a terminal: one line rewritten in place, cleared at the end', () => {
    const f = fake(true);
    const p = new Progress(f.stream, { now: f.clock.now, delayMs: 300 });
    p.update('a');
    f.clock.advance(300);
    p.update('b');
    f.clock.advance(100);
    p.update('c');
    p.done();
    assert.deepEqual(f.writes, ['\r\x1b[Kb', '\r\x1b[Kc', '\r\x1b[K']);
  });

  test('done() after nothing was shown writes nothing', () => {
    const f = fake(true);
    const p = new Progress(f.stream, { now: f.clock.now });
    p.update('quick');
    p.done();
    assert.deepEqual(f.writes, []);
  });
});
