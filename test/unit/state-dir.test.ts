/**
 * StateDir (src/daemon/state-dir.ts): what it refuses to open, and that a `fsmond` swapped for a
 * symlink after opening redirects nothing, through /proc and through the re-checking fallback.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
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

describe('a FIFO planted where the daemon writes its log or its refusal', () => {
  // In a child with a time limit: a blocking open of a FIFO with no reader never returns, and
  // no test timeout can interrupt a synchronous call.
  test('is skipped at once: the line is lost, nothing waits, a later regular file is used', () => {
    const g = gitDir();
    const script = `
      const fs = require('node:fs');
      const { execFileSync } = require('node:child_process');
      (async () => {
        const { StateDir } = await import(${JSON.stringify(new URL('../../src/daemon/state-dir.js', import.meta.url).href)});
        const { Logger } = await import(${JSON.stringify(new URL('../../src/daemon/logger.js', import.meta.url).href)});
        const { recordRefusal } = await import(${JSON.stringify(new URL('../../src/daemon/startup.js', import.meta.url).href)});
        const dir = StateDir.open(${JSON.stringify(g)});
        const real = (name) => require('node:path').join(${JSON.stringify(g)}, 'fsmond', name);
        execFileSync('mkfifo', [real('daemon.log'), real('refused')]);
        const logger = new Logger({ dir, level: 'info', maxBytes: 1 << 20, toStderr: false });
        logger.log('info', 'into the FIFO');
        const refused = recordRefusal(dir, 'refused (test)');
        fs.rmSync(dir.file('log'));
        logger.log('info', 'into the file');
        process.stdout.write(JSON.stringify({ refused, log: fs.readFileSync(dir.file('log'), 'utf8') }));
      })();
    `;
    const r = spawnSync(process.execPath, ['-e', script], { timeout: 20_000, encoding: 'utf8' });
    assert.equal(r.signal, null, 'killed at the time limit: an open waited at a FIFO');
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { refused: boolean; log: string };
    assert.equal(out.refused, false, 'the refusal cannot go into a FIFO');
    assert.doesNotMatch(out.log, /into the FIFO/);
    assert.match(out.log, /info: into the file\n$/);
  });
});
