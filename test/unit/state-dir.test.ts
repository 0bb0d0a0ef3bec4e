/**
 * StateDir (src/daemon/state-dir.ts): what it refuses to open, and that a `fsmond` swapped for a
 * symlink after opening redirects nothing, through /proc and through the re-checking fallback.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { StateDir } from '../../src/daemon/state-dir.js';
import { scratchDir } from '../helpers/scratch.js';

const root = process.geteuid?.() === 0;

function gitDir(): string {
  const d = path.join(scratchDir('fsmond-statedir-'), '.git');
  fs.mkdirSync(d);
  return d;
}

describe('a state dir swapped for a symlink after it was opened', () => {
  for (const proc of [true, false]) {
    test(proc ? 'through /proc/self/fd: still the real one' : 'without /proc: refused', () => {
      const g = gitDir();
      const victim = path.join(path.dirname(g), 'victim');
      fs.mkdirSync(victim);
      const dir = StateDir.open(g, { proc });
      try {
        fs.writeFileSync(dir.file('log'), 'before\n');
        fs.renameSync(path.join(g, 'fsmond'), path.join(g, 'fsmond-real'));
        fs.symlinkSync(victim, path.join(g, 'fsmond'));
        if (proc) {
          fs.appendFileSync(dir.file('log'), 'after\n');
          const real = path.join(g, 'fsmond-real', 'daemon.log');
          assert.equal(fs.readFileSync(real, 'utf8'), 'before\nafter\n');
        } else {
          assert.throws(() => dir.file('log'), /no longer the state directory that was opened/);
          dir.follow(path.join(victim, '..', '.git')); // not the same directory: not followed
          assert.throws(() => dir.file('log'));
        }
        assert.deepEqual(fs.readdirSync(victim), [], 'nothing through the symlink');
      } finally {
        dir.close();
      }
    });
  }

  test('without /proc, a renamed git dir is followed when it is the same directory', () => {
    const g = gitDir();
    const dir = StateDir.open(g, { proc: false });
    try {
      const moved = path.join(path.dirname(g), 'moved.git');
      fs.renameSync(g, moved);
      assert.throws(() => dir.file('log'));
      dir.follow(moved);
      assert.equal(dir.file('log'), path.join(moved, 'fsmond', 'daemon.log'));
    } finally {
      dir.close();
    }
  });
});

describe('refused when opened', () => {
  test('a symlink, a file, a directory writable by others', () => {
    const g = gitDir();
    fs.symlinkSync(path.dirname(g), path.join(g, 'fsmond'));
    assert.throws(() => StateDir.open(g), /fsmond' is a symlink; refusing to use it/);
    fs.rmSync(path.join(g, 'fsmond'));
    fs.writeFileSync(path.join(g, 'fsmond'), '');
    assert.throws(() => StateDir.open(g), /fsmond' is not a directory; refusing to use it/);
    fs.rmSync(path.join(g, 'fsmond'));
    fs.mkdirSync(path.join(g, 'fsmond'));
    fs.chmodSync(path.join(g, 'fsmond'), 0o777);
    assert.throws(() => StateDir.open(g), /fsmond' is writable by others; refusing to use it/);
    fs.chmodSync(path.join(g, 'fsmond'), 0o755);
    StateDir.open(g).close();
    assert.equal(fs.statSync(path.join(g, 'fsmond')).mode & 0o777, 0o700, 'tightened');
  });

  test('one of another user, and a git dir of another user (then nothing is created)', {
    skip: root ? false : 'needs root to hand a directory to uid 65534',
  }, () => {
    const g = gitDir();
    fs.mkdirSync(path.join(g, 'fsmond'), { mode: 0o700 });
    fs.chownSync(path.join(g, 'fsmond'), 65534, 65534);
    assert.throws(() => StateDir.open(g), /fsmond' belongs to uid 65534.*; refusing to use it/);
    const theirs = gitDir();
    fs.chownSync(theirs, 65534, 65534);
    assert.throws(() => StateDir.open(theirs), { code: 'foreign' });
    assert.deepEqual(fs.readdirSync(theirs), []);
  });
});
