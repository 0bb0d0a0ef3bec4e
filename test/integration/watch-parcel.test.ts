/**
 * The @parcel/watcher adapter, exercised on Linux through parcel's own inotify backend.
 * Simple cases only: on Linux that backend loses events in known ways (docs/linux-watching.md,
 * traps T3-T7), which is why our own inotify backend is the Linux default; the adapter is meant
 * for macOS (fs-events) and Windows.
 */
import assert from 'node:assert/strict';
import {
  appendFileSync,
  chmodSync,
  mkdirSync,
  renameSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { plant } from '../helpers/watch-fs.js';
import { closeAfterEachTest, Harness, makeWorktree } from '../helpers/watch-harness.js';

const track = closeAfterEachTest({ check: true });

async function setup(opts: { linked?: boolean } = {}): Promise<Harness> {
  const wt = makeWorktree(opts);
  plant(wt.root, ['old.txt', 'dir/in.txt']);
  const h = track(new Harness(wt, { backend: 'parcel', parcelBackend: 'inotify' }));
  await h.start();
  return h;
}

test('parcel: stats name the explicit backend', async () => {
  const h = await setup();
  assert.equal(h.watcher.stats().backend, 'parcel:inotify');
  assert.equal(h.c.ready, 1);
});

test('parcel: create, modify, chmod, delete a file; cookies seen', async () => {
  const h = await setup();
  writeFileSync(h.p('a.txt'), 'x');
  assert.deepEqual(await h.sync(), ['a.txt']);
  appendFileSync(h.p('old.txt'), '+');
  assert.deepEqual(await h.sync(), ['old.txt']);
  chmodSync(h.p('dir/in.txt'), 0o600);
  assert.deepEqual(await h.sync(), ['dir/in.txt']);
  unlinkSync(h.p('a.txt'));
  assert.deepEqual(await h.sync(), ['a.txt']);
});

test('parcel: nothing inside .git is reported; a nested .git reports its parent', async () => {
  const h = await setup();
  writeFileSync(join(h.wt.gitDir, 'index'), 'i');
  mkdirSync(join(h.wt.gitDir, 'refs'), { recursive: true });
  writeFileSync(join(h.wt.gitDir, 'refs', 'x'), 'r');
  assert.deepEqual(await h.sync(), []);
  mkdirSync(h.p('dir/.git'));
  const got = await h.sync();
  assert.deepEqual(got, ['dir']);
});

test('parcel: a created directory is reported with what is beneath it', async () => {
  const h = await setup();
  plant(h.wt.outside, ['m/f', 'm/s/g']);
  renameSync(join(h.wt.outside, 'm'), h.p('m'));
  const got = await h.sync();
  for (const p of ['m', 'm/f', 'm/s', 'm/s/g']) assert.ok(got.includes(p), `missing ${p}`);
});

test('parcel: linked worktree, cookies come from the git dir subscription', async () => {
  const h = await setup({ linked: true });
  writeFileSync(h.p('new'), 'n');
  assert.deepEqual(await h.sync(), ['new']);
});
