import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DirTree } from '../../src/watch/dir-tree.js';

function build() {
  const t = new DirTree(1);
  const a = t.add(t.root, 'a', 2);
  const s = t.add(a, 's', 3);
  const d = t.add(s, 'd', 4);
  const c = t.add(t.root, 'c', 5);
  return { t, a, s, d, c };
}

test('paths are computed from parents; the root is ""', () => {
  const { t, d, c } = build();
  assert.equal(t.pathOf(t.root), '');
  assert.equal(t.pathOf(d), 'a/s/d');
  assert.equal(t.pathOf(c), 'c');
  assert.equal(t.size, 5);
});

test('moving one node re-keys every descendant (the fix for bug A)', () => {
  const { t, a, d } = build();
  t.move(a, t.root, 'b');
  assert.equal(t.pathOf(d), 'b/s/d');
  assert.equal(t.root.children?.get('a'), undefined);
  assert.equal(t.byWd.get(4), d);
});

test('detached subtrees have no path; re-attaching restores it; pending names kept', () => {
  const { t, s, d, c } = build();
  t.detach(s, 100);
  assert.equal(t.pathOf(d), null);
  assert.deepEqual(t.locate(d), { top: s, rel: 'd' });
  t.notePending(d, 'gone.txt', 2);
  t.notePending(d, 'x', 2);
  t.notePending(d, 'y', 2);
  t.move(s, c, 's2');
  assert.equal(t.pathOf(d), 'c/s2/d');
  assert.equal(t.detached.size, 0);
  assert.deepEqual(t.takePending(d), { names: ['gone.txt', 'x'], lossy: true });
  assert.equal(t.takePending(d), undefined);
});

test('remove drops the whole subtree and hands back every wd', () => {
  const { t, a } = build();
  const wds: number[] = [];
  t.remove(a, (wd) => wds.push(wd));
  assert.deepEqual(wds.sort(), [2, 3, 4]);
  assert.equal(t.size, 2);
  assert.equal(t.byWd.get(3), undefined);
});

test('expire drops only subtrees detached long enough', () => {
  const { t, a, c } = build();
  t.detach(a, 100);
  t.detach(c, 150);
  const wds: number[] = [];
  assert.equal(
    t.expire(160, 50, (wd) => wds.push(wd)),
    1,
  );
  assert.deepEqual(wds.sort(), [2, 3, 4]);
  assert.equal(
    t.expire(200, 50, (wd) => wds.push(wd)),
    0,
  );
  assert.equal(t.size, 1);
});

test('a node cannot be moved under itself; the root cannot be detached', () => {
  const { t, a, d } = build();
  assert.throws(() => t.move(a, d, 'loop'), /inconsistent/);
  assert.throws(() => t.detach(t.root, 0), /root/);
});
