/**
 * The inotify backend against the real kernel: every scenario asserts the exact set of paths
 * delivered between two cookie handshakes, never timing.
 */
import assert from 'node:assert/strict';
import {
  appendFileSync,
  chmodSync,
  closeSync,
  mkdirSync,
  openSync,
  renameSync,
  rmdirSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { waitFor } from '../helpers/wait.js';
import { bstr, plant } from '../helpers/watch-fs.js';
import { closeAfterEachTest, Harness, makeWorktree, sorted } from '../helpers/watch-harness.js';
import { assertAllWatched, CHURN_TREE, startWithChurn } from '../helpers/watch-probes.js';

const track = closeAfterEachTest({ check: true });

async function setup(files: string[] = [], extra = {}): Promise<Harness> {
  const wt = makeWorktree();
  plant(wt.root, files);
  const h = track(new Harness(wt, { backend: 'inotify', ...extra }));
  await h.start();
  return h;
}

test('backend and stats after the initial scan', async () => {
  const h = await setup(['a/b/c/f', 'a/x', 'd/e/g', 'top']);
  const s = h.watcher.stats();
  assert.equal(s.backend, 'inotify');
  // root, a, a/b, a/b/c, d, d/e: .git and the cookie dir are not part of the tree.
  assert.equal(s.watchedDirs, 6);
  assert.equal(s.rescans, 0);
  assert.equal(h.c.ready, 1);
});

test('file create, modify, chmod, touch, delete', async () => {
  const h = await setup(['old.txt']);
  writeFileSync(h.p('a.txt'), 'x');
  assert.deepEqual(await h.sync(), ['a.txt']);
  appendFileSync(h.p('a.txt'), 'y');
  assert.deepEqual(await h.sync(), ['a.txt']);
  chmodSync(h.p('a.txt'), 0o600);
  assert.deepEqual(await h.sync(), ['a.txt']);
  const t = new Date();
  utimesSync(h.p('old.txt'), t, t);
  assert.deepEqual(await h.sync(), ['old.txt']);
  unlinkSync(h.p('a.txt'));
  assert.deepEqual(await h.sync(), ['a.txt']);
  renameSync(h.p('old.txt'), h.p('new.txt'));
  assert.deepEqual(await h.sync(), ['new.txt', 'old.txt']);
  assert.deepEqual(await h.sync(), []);
});

test('mkdir -p of a deep tree with files created at once; later edits seen', async () => {
  const h = await setup();
  const dirs = ['d1', 'd1/d2', 'd1/d2/d3', 'd1/d2/d3/d4', 'd1/d2/d3/d4/d5'];
  mkdirSync(h.p(dirs[4]!), { recursive: true });
  for (const d of dirs) writeFileSync(h.p(`${d}/f`), d);
  const files = dirs.map((d) => `${d}/f`);
  assert.deepEqual(await h.sync(), sorted([...dirs, ...files]));
  for (const f of files) appendFileSync(h.p(f), '+');
  writeFileSync(h.p('d1/d2/d3/d4/d5/new'), 'n');
  assert.deepEqual(await h.sync(), sorted([...files, 'd1/d2/d3/d4/d5/new']));
});

test('burst of mkdir -p a/bN/cN with files (parcel loses these): all seen, then all edits', async () => {
  const h = await setup();
  const expected: string[] = ['a'];
  const files: string[] = [];
  for (let i = 0; i < 60; i++) {
    mkdirSync(h.p(`a/b${i}/c${i}`), { recursive: true });
    expected.push(`a/b${i}`, `a/b${i}/c${i}`);
    for (let j = 0; j < 5; j++) {
      const f = `a/b${i}/c${i}/f${j}`;
      writeFileSync(h.p(f), 'x');
      files.push(f);
    }
  }
  assert.deepEqual(await h.sync(), sorted([...expected, ...files]));
  for (const f of files) appendFileSync(h.p(f), 'y');
  assert.deepEqual(await h.sync(), sorted(files));
});

test('bug A: a renamed directory keeps watching its subdirectories under the NEW name', async () => {
  const h = await setup(['a/sub/f.txt', 'a/sub/deeper/g.txt', 'c/keep']);
  renameSync(h.p('a'), h.p('b'));
  assert.deepEqual(
    await h.sync(),
    sorted(['a', 'b', 'b/sub', 'b/sub/f.txt', 'b/sub/deeper', 'b/sub/deeper/g.txt']),
  );
  appendFileSync(h.p('b/sub/f.txt'), '2');
  appendFileSync(h.p('b/sub/deeper/g.txt'), '2');
  writeFileSync(h.p('b/sub/deeper/new'), 'n');
  assert.deepEqual(
    await h.sync(),
    sorted(['b/sub/f.txt', 'b/sub/deeper/g.txt', 'b/sub/deeper/new']),
  );
  // Move a subdirectory to another parent under a new name, then edit deep inside it.
  renameSync(h.p('b/sub'), h.p('c/sub2'));
  assert.deepEqual(
    await h.sync(),
    sorted([
      'b/sub',
      'c/sub2',
      'c/sub2/f.txt',
      'c/sub2/deeper',
      'c/sub2/deeper/g.txt',
      'c/sub2/deeper/new',
    ]),
  );
  appendFileSync(h.p('c/sub2/deeper/g.txt'), '3');
  assert.deepEqual(await h.sync(), ['c/sub2/deeper/g.txt']);
  assert.equal(h.watcher.stats().watchedDirs, 5); // root, b, c, c/sub2, c/sub2/deeper
});

test('renames in quick succession (a->b->c, swap through a temp name) end up right', async () => {
  const h = await setup(['a/x/1', 'p/y/2', 'q/z/3']);
  renameSync(h.p('a'), h.p('b'));
  renameSync(h.p('b'), h.p('c'));
  renameSync(h.p('p'), h.p('tmp'));
  renameSync(h.p('q'), h.p('p'));
  renameSync(h.p('tmp'), h.p('q'));
  const got = await h.sync();
  for (const must of ['a', 'c', 'c/x', 'c/x/1', 'p', 'p/z', 'p/z/3', 'q', 'q/y', 'q/y/2']) {
    assert.ok(got.includes(must), `missing ${must} in ${got.join(' ')}`);
  }
  appendFileSync(h.p('c/x/1'), '+');
  appendFileSync(h.p('p/z/3'), '+');
  appendFileSync(h.p('q/y/2'), '+');
  assert.deepEqual(await h.sync(), ['c/x/1', 'p/z/3', 'q/y/2']);
});

test('wd collision: a directory moved into a new directory before any event is read', async () => {
  const logs: string[] = [];
  const h = await setup(['a/sub/f', 'a/g'], { log: (_: string, m: string) => logs.push(m) });
  // All in one synchronous run: the watcher reads nothing until it is over. Scanning the new
  // directory p finds a's inode (same wd) at p/a2 while a's IN_MOVED_FROM is still queued
  // (and there is no IN_MOVED_TO: p was not watched yet).
  mkdirSync(h.p('p'));
  renameSync(h.p('a'), h.p('p/a2'));
  assert.deepEqual(await h.sync(), sorted(['a', 'p', 'p/a2', 'p/a2/g', 'p/a2/sub', 'p/a2/sub/f']));
  assert.ok(
    logs.some((m) => m.includes("re-keyed 'a' as 'p/a2'")),
    logs.join('\n'),
  );
  appendFileSync(h.p('p/a2/sub/f'), '+');
  writeFileSync(h.p('p/a2/new'), 'n');
  assert.deepEqual(await h.sync(), ['p/a2/new', 'p/a2/sub/f']);
  assert.equal(h.watcher.stats().watchedDirs, 4); // root, p, p/a2, p/a2/sub
});

test('changes made while the initial scan runs are all caught', async () => {
  const wt = makeWorktree();
  plant(wt.root, CHURN_TREE);
  const w = track(new Harness(wt, { backend: 'inotify', scanSliceMs: 0 }));
  await startWithChurn(w);
  // Every directory, whatever happened to it during the scan, is watched under its name now.
  await assertAllWatched(w);
});

test('bug B: a tree moved in from outside is watched itself and all the way down', async () => {
  const h = await setup(['keep']);
  const wt = h.wt;
  plant(wt.outside, ['m/f.txt', 'm/inner/k.txt', 'm/inner/deep/z']);
  renameSync(join(wt.outside, 'm'), h.p('m'));
  assert.deepEqual(
    await h.sync(),
    sorted(['m', 'm/f.txt', 'm/inner', 'm/inner/k.txt', 'm/inner/deep', 'm/inner/deep/z']),
  );
  appendFileSync(h.p('m/f.txt'), '2');
  appendFileSync(h.p('m/inner/k.txt'), '2');
  writeFileSync(h.p('m/inner/deep/new'), 'n');
  mkdirSync(h.p('m/inner/deep/x'));
  writeFileSync(h.p('m/inner/deep/x/y'), 'y');
  assert.deepEqual(
    await h.sync(),
    sorted(['m/f.txt', 'm/inner/k.txt', 'm/inner/deep/new', 'm/inner/deep/x', 'm/inner/deep/x/y']),
  );
});

test('bug C: a directory moved out is reported, then ignored; the watcher keeps working', async () => {
  const h = await setup(['d/s/t.txt', 'd/u', 'other/o'], { detachHoldMs: 20 });
  const wt = h.wt;
  assert.equal(h.watcher.stats().watchedDirs, 4);
  renameSync(h.p('d'), join(wt.outside, 'd'));
  assert.deepEqual(await h.sync(), ['d']);
  // Its watches are dropped once the partner-less IN_MOVED_FROM has waited long enough.
  await waitFor('moved-out watches to be dropped', () => h.watcher.stats().watchedDirs === 2);
  appendFileSync(join(wt.outside, 'd/s/t.txt'), 'outside');
  writeFileSync(join(wt.outside, 'd/new'), 'outside');
  appendFileSync(h.p('other/o'), 'inside');
  assert.deepEqual(await h.sync(), ['other/o']);
  // And back in: a moved-in tree again, watched and reported in full.
  renameSync(join(wt.outside, 'd'), h.p('d2'));
  assert.deepEqual(await h.sync(), sorted(['d2', 'd2/s', 'd2/s/t.txt', 'd2/u', 'd2/new']));
  appendFileSync(h.p('d2/s/t.txt'), 'back');
  assert.deepEqual(await h.sync(), ['d2/s/t.txt']);
});

test('a directory moved out and straight back in (same inode) is re-attached', async () => {
  const h = await setup(['d/s/t.txt'], { detachHoldMs: 60_000 });
  const wt = h.wt;
  renameSync(h.p('d'), join(wt.outside, 'd'));
  unlinkSync(join(wt.outside, 'd/s/t.txt'));
  writeFileSync(join(wt.outside, 'd/s/u.txt'), 'u');
  renameSync(join(wt.outside, 'd'), h.p('d'));
  // The deletion made while outside is reported too (remembered while detached).
  assert.deepEqual(await h.sync(), sorted(['d', 'd/s', 'd/s/t.txt', 'd/s/u.txt']));
  appendFileSync(h.p('d/s/u.txt'), '+');
  assert.deepEqual(await h.sync(), ['d/s/u.txt']);
  assert.equal(h.watcher.stats().watchedDirs, 3);
});

test('file -> directory and directory -> file', async () => {
  const h = await setup(['x', 'y/in.txt']);
  unlinkSync(h.p('x'));
  mkdirSync(h.p('x'));
  writeFileSync(h.p('x/in.txt'), 'i');
  assert.deepEqual(await h.sync(), ['x', 'x/in.txt']);
  appendFileSync(h.p('x/in.txt'), '+');
  assert.deepEqual(await h.sync(), ['x/in.txt']);
  rmSync(h.p('y'), { recursive: true });
  writeFileSync(h.p('y'), 'now a file');
  assert.deepEqual(await h.sync(), ['y', 'y/in.txt']);
  appendFileSync(h.p('y'), '+');
  assert.deepEqual(await h.sync(), ['y']);
  assert.equal(h.watcher.stats().watchedDirs, 2); // root, x
});

test('bug F: touch/chmod of a directory reports the directory; of the root, nothing', async () => {
  const h = await setup(['d/f']);
  const t = new Date(Date.now() - 60_000);
  utimesSync(h.p('d'), t, t);
  assert.deepEqual(await h.sync(), ['d']);
  chmodSync(h.p('d'), 0o700);
  assert.deepEqual(await h.sync(), ['d']);
  utimesSync(Buffer.from(h.wt.root), t, t);
  chmodSync(Buffer.from(h.wt.root), 0o755);
  assert.deepEqual(await h.sync(), []);
});

test('unicode and non-UTF-8 byte names round-trip exactly', async () => {
  const h = await setup();
  const bad = bstr([0x66, 0xff, 0x2e, 0x74]); // "f\xff.t", not UTF-8
  const uni = bstr(Buffer.from('héllo-日本.txt', 'utf8'));
  const dir = bstr([0x64, 0xfe, 0x80]);
  writeFileSync(h.p(bad), 'x');
  writeFileSync(h.p(uni), 'x');
  mkdirSync(h.p(dir));
  writeFileSync(h.p(`${dir}/${bad}`), 'x');
  assert.deepEqual(await h.sync(), sorted([bad, uni, dir, `${dir}/${bad}`]));
  const dir2 = bstr(Buffer.from('répertoire', 'utf8'));
  renameSync(h.p(dir), h.p(dir2));
  assert.deepEqual(await h.sync(), sorted([dir, dir2, `${dir2}/${bad}`]));
  appendFileSync(h.p(`${dir2}/${bad}`), '+');
  assert.deepEqual(await h.sync(), [`${dir2}/${bad}`]);
});

test('cookies come with (or after) the paths that preceded them, in order', async () => {
  const h = await setup();
  const cookie = (name: string) => {
    const p = join(h.wt.cookieDir, name);
    closeSync(openSync(p, 'wx'));
    unlinkSync(p);
  };
  const first = h.c.batches.length;
  writeFileSync(h.p('a'), 'a');
  cookie('c1');
  writeFileSync(h.p('b'), 'b');
  cookie('c2');
  await waitFor('cookie c2', () => h.c.cookiesSeen.has('c2'));
  const batches = h.c.batches.slice(first);
  const where = (pred: (i: number) => boolean) => batches.findIndex((_, i) => pred(i));
  const batchOfPath = (p: string) => where((i) => batches[i]!.paths.includes(p));
  const batchOfCookie = (c: string) => where((i) => batches[i]!.cookies.includes(c));
  assert.ok(batchOfPath('a') >= 0 && batchOfPath('a') <= batchOfCookie('c1'));
  assert.ok(batchOfPath('b') >= 0 && batchOfPath('b') <= batchOfCookie('c2'));
  const flat = batches.flatMap((b) => b.cookies);
  assert.ok(flat.indexOf('c1') < flat.indexOf('c2'));
  // Cookie names never appear as paths.
  assert.ok(batches.every((b) => b.paths.every((p) => !p.includes('c1') && !p.includes('c2'))));
});

test('nothing inside .git is reported (except cookies, which are not paths)', async () => {
  const h = await setup(['src/a']);
  const g = h.wt.gitDir;
  writeFileSync(join(g, 'index.lock'), 'i');
  renameSync(join(g, 'index.lock'), join(g, 'index'));
  mkdirSync(join(g, 'refs/heads'), { recursive: true });
  writeFileSync(join(g, 'refs/heads/main'), 'x');
  mkdirSync(join(g, 'objects/ab'));
  writeFileSync(join(g, 'objects/ab/cdef'), 'o');
  utimesSync(g, new Date(), new Date());
  assert.deepEqual(await h.sync(), []);
  appendFileSync(h.p('src/a'), '+');
  assert.deepEqual(await h.sync(), ['src/a']);
});

test('a nested .git reports the directory that holds it, never anything inside', async () => {
  const h = await setup(['sub/file']);
  mkdirSync(h.p('sub/.git'));
  assert.deepEqual(await h.sync(), ['sub']);
  writeFileSync(h.p('sub/.git/config'), 'c');
  mkdirSync(h.p('sub/.git/objects/aa'), { recursive: true });
  assert.deepEqual(await h.sync(), []);
  appendFileSync(h.p('sub/file'), '+');
  assert.deepEqual(await h.sync(), ['sub/file']);
  plant(h.wt.outside, ['n/.git/HEAD', 'n/.git/objects/x', 'n/a']);
  renameSync(join(h.wt.outside, 'n'), h.p('n'));
  assert.deepEqual(await h.sync(), ['n', 'n/a']);
  rmSync(h.p('sub/.git'), { recursive: true });
  assert.deepEqual(await h.sync(), ['sub']);
  assert.equal(h.watcher.stats().watchedDirs, 3); // root, sub, n
});

test('a symlink to a directory is a file entry and is not followed', async () => {
  const h = await setup(['real/r']);
  plant(h.wt.outside, ['target/t']);
  symlinkSync(join(h.wt.outside, 'target'), h.p('link'));
  symlinkSync('real', h.p('link2'));
  assert.deepEqual(await h.sync(), ['link', 'link2']);
  appendFileSync(join(h.wt.outside, 'target/t'), '+');
  assert.deepEqual(await h.sync(), []);
  assert.equal(h.watcher.stats().watchedDirs, 2); // root, real
});

test('rewatchCookieDir after the cookie dir is re-created', async () => {
  const h = await setup();
  rmSync(h.wt.cookieDir, { recursive: true });
  mkdirSync(h.wt.cookieDir);
  h.watcher.rewatchCookieDir();
  writeFileSync(h.p('after'), 'a');
  assert.deepEqual(await h.sync(), ['after']);
});

test('directory deleted with rm -rf reports its entries; empty dir removal too', async () => {
  const h = await setup(['t/a/1', 't/a/2', 't/b/3', 'e/.keep']);
  rmSync(h.p('t'), { recursive: true });
  assert.deepEqual(await h.sync(), sorted(['t', 't/a', 't/a/1', 't/a/2', 't/b', 't/b/3']));
  unlinkSync(h.p('e/.keep'));
  rmdirSync(h.p('e'));
  assert.deepEqual(await h.sync(), ['e', 'e/.keep']);
  assert.equal(h.watcher.stats().watchedDirs, 1);
});

test('close() is idempotent, also while the initial scan runs, and stops all callbacks', async () => {
  const wt = makeWorktree();
  plant(
    wt.root,
    Array.from({ length: 50 }, (_, i) => `d${i}/s/f`),
  );
  const early = new Harness(wt, { backend: 'inotify' });
  const started = early.watcher.start();
  await early.close();
  await early.close();
  await assert.rejects(started, /closed/);
  const late = new Harness(wt, { backend: 'inotify' });
  await late.start();
  await late.close();
  const before = late.c.batches.length;
  writeFileSync(join(wt.root, 'after-close'), 'x');
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(late.c.batches.length, before);
  assert.equal(late.watcher.stats().watchedDirs, 0);
});
