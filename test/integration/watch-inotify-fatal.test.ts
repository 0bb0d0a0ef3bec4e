/**
 * When the worktree or its git dir goes away the daemon must exit: onFatal, once, and close()
 * still works afterwards. Also linked worktrees (.git file, git dir outside the root).
 */
import assert from 'node:assert/strict';
import { appendFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { createWatcher } from '../../src/watch/index.js';
import { waitFor } from '../helpers/wait.js';
import { plant } from '../helpers/watch-fs.js';
import { Collector, closeAfterEachTest, Harness, makeWorktree } from '../helpers/watch-harness.js';

const track = closeAfterEachTest();

async function setup(opts: { linked?: boolean } = {}): Promise<Harness> {
  const wt = makeWorktree(opts);
  plant(wt.root, ['a/b/f', 'top']);
  const h = track(new Harness(wt, { backend: 'inotify' }));
  await h.start();
  return h;
}

async function expectFatal(h: Harness, pattern: RegExp): Promise<void> {
  await waitFor('onFatal', () => h.c.fatal.length > 0);
  assert.match(h.c.fatal[0]!, pattern);
  await h.close();
  assert.equal(h.c.fatal.length, 1, 'onFatal is called once');
  assert.deepEqual(h.c.violations, []);
}

test('.git directory removed -> onFatal', async () => {
  const h = await setup();
  rmSync(h.wt.gitDir, { recursive: true });
  await expectFatal(h, /\.git removed|git dir removed/);
});

test('.git directory renamed -> onFatal', async () => {
  const h = await setup();
  renameSync(h.wt.gitDir, join(h.wt.root, 'git-old'));
  await expectFatal(h, /\.git renamed|git dir renamed/);
});

test('worktree root renamed -> onFatal (git 2.55 bug E)', async () => {
  const h = await setup();
  renameSync(h.wt.root, join(h.wt.base, 'wt-renamed'));
  await expectFatal(h, /worktree root renamed/);
});

test('worktree root deleted -> onFatal', async () => {
  const h = await setup();
  rmSync(h.wt.root, { recursive: true });
  await expectFatal(h, /removed|deleted/);
});

test('start() rejects when the root does not exist', async () => {
  const wt = makeWorktree();
  const c = new Collector();
  const w = createWatcher({
    backend: 'inotify',
    root: join(wt.base, 'missing'),
    gitDir: wt.gitDir,
    cookieDir: wt.cookieDir,
    listener: c,
  });
  await assert.rejects(w.start(), /worktree root not found/);
  await w.close();
  assert.equal(c.ready, 0);
});

test('linked worktree: edits and cookies work with the git dir outside the root', async () => {
  const h = await setup({ linked: true });
  appendFileSync(h.p('a/b/f'), '+');
  writeFileSync(h.p('new'), 'n');
  assert.deepEqual(await h.sync(), ['a/b/f', 'new']);
  // The .git file is not a path git cares about, and changing it is not fatal.
  appendFileSync(h.p('.git'), '\n');
  assert.deepEqual(await h.sync(), []);
  assert.deepEqual(h.c.fatal, []);
});

test('linked worktree: .git file deleted -> onFatal', async () => {
  const h = await setup({ linked: true });
  unlinkSync(h.p('.git'));
  await expectFatal(h, /\.git removed/);
});

test('linked worktree: git dir removed -> onFatal', async () => {
  const h = await setup({ linked: true });
  rmSync(h.wt.gitDir, { recursive: true });
  await expectFatal(h, /git dir removed/);
});
