/**
 * The lifecycle both backends share, driven by a fake backend: announce once per reason,
 * blocked only for lasting losses and only until ready, fatal wins, nothing after close.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FatalError, SyncLostError } from '../../src/watch/errors.js';
import { Lifecycle } from '../../src/watch/lifecycle.js';
import type { WatchListener } from '../../src/watch/types.js';

function fake(retryDelayMs = 1) {
  const calls: string[] = [];
  let attempts = 0;
  const listener: WatchListener = {
    onBatch: () => calls.push('batch'),
    onSyncLost: (r) => calls.push(`lost:${r}`),
    onReady: () => calls.push('ready'),
    onFatal: (r) => calls.push(`fatal:${r}`),
  };
  const life = new Lifecycle(
    { listener, retryDelayMs, retryMaxDelayMs: 4 },
    () => {
      attempts++;
    },
    () => {},
  );
  return { life, calls, attempts: () => attempts };
}

const tick = (ms = 20) => new Promise((r) => setTimeout(r, ms));

test('lifecycle: a lasting loss blocks with its detail, is announced once, ready clears it', async () => {
  const { life, calls, attempts } = fake();
  const started = life.start();
  assert.equal(attempts(), 1);
  const full = () => new SyncLostError('table full', 'limit', 'table full: 7 of 7');
  life.fail(full());
  assert.equal(life.blockedReason(), 'table full: 7 of 7');
  await tick();
  assert.ok(attempts() >= 2, 'retried in the background');
  life.fail(full());
  life.fail(full());
  assert.deepEqual(calls, ['lost:table full'], 'the same reason is announced once');
  life.ready();
  await started;
  assert.equal(life.blockedReason(), null);
  life.fail(full());
  assert.deepEqual(calls, ['lost:table full', 'ready', 'lost:table full'], 'again once ready');
  life.fail(new SyncLostError('queue overflow', 'overflow'));
  assert.equal(life.blockedReason(), null, 'a burst does not block');
  assert.equal(calls.at(-1), 'lost:queue overflow', 'a new reason is announced');
  const s = life.stats('x', 0, 0, ['d'], null);
  assert.equal(s.rescans, 5);
  assert.deepEqual([s.unwatchableDirs, s.unwatchableSample, s.blocked], [1, ['d'], null]);
  life.close();
});

test('lifecycle: fatal before ready fails start(); after it, onFatal once and no retry', async () => {
  const a = fake();
  const started = a.life.start();
  a.life.fail(new FatalError('root gone'));
  await assert.rejects(started, /root gone/);
  assert.deepEqual(a.calls, []);

  const b = fake();
  void b.life.start();
  b.life.ready();
  b.life.fail(new FatalError('git dir gone'));
  b.life.fail(new SyncLostError('late', 'limit'));
  b.life.die('again');
  await tick();
  assert.deepEqual(b.calls, ['ready', 'fatal:git dir gone']);
  assert.equal(b.attempts(), 1);
  assert.equal(b.life.blockedReason(), null);
});

test('lifecycle: once closed, no listener call, no retry, not blocked', async () => {
  const { life, calls, attempts } = fake();
  const started = life.start();
  life.fail(new SyncLostError('table full', 'limit'));
  assert.equal(life.close(), true);
  assert.equal(life.close(), false);
  await assert.rejects(started, /closed/);
  life.ready();
  life.fail(new SyncLostError('other', 'error'));
  await tick();
  assert.deepEqual(calls, ['lost:table full']);
  assert.equal(attempts(), 1);
  assert.equal(life.blockedReason(), null);
});
