import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { SocketPathError, SUN_PATH_MAX, withSocketAddress } from '../../src/ipc/index.js';
import { deepDir } from '../helpers/ipc-util.js';
import { scratchDir } from '../helpers/scratch.js';

/** A path of exactly `bytes` bytes inside `dir` (which must be shorter). */
function pathOfLength(dir: string, bytes: number): string {
  const p = path.join(dir, 's'.repeat(bytes - Buffer.byteLength(dir) - 1));
  assert.equal(Buffer.byteLength(p), bytes);
  return p;
}

test('a path that fits is passed through and the cwd is left alone', (t) => {
  const dir = scratchDir('fsmond-', t);
  const before = process.cwd();
  const p = pathOfLength(dir, SUN_PATH_MAX);
  assert.equal(
    withSocketAddress(p, (addr) => {
      assert.equal(process.cwd(), before);
      return addr;
    }),
    p,
  );
});

test('one byte too long: chdir into the directory and pass ./basename, then restore', (t) => {
  const dir = fs.realpathSync(scratchDir('fsmond-', t));
  const before = process.cwd();
  const p = pathOfLength(dir, SUN_PATH_MAX + 1);
  const seen = withSocketAddress(p, (addr) => ({ addr, cwd: process.cwd() }));
  assert.deepEqual(seen, { addr: `./${path.basename(p)}`, cwd: dir });
  assert.equal(process.cwd(), before);
});

test('length counts UTF-8 bytes, not UTF-16 code units', (t) => {
  const dir = scratchDir('fsmond-', t);
  // 45 two-byte characters: 45 JS chars but 90 bytes.
  const p = path.join(dir, 'é'.repeat(45));
  assert.ok(p.length <= SUN_PATH_MAX && Buffer.byteLength(p) > SUN_PATH_MAX);
  assert.equal(
    withSocketAddress(p, (addr) => addr),
    `./${'é'.repeat(45)}`,
  );
});

test('the cwd is restored when the callback throws', (t) => {
  const dir = deepDir(scratchDir('fsmond-', t), 200);
  const before = process.cwd();
  assert.throws(
    () =>
      withSocketAddress(path.join(dir, 'x.ipc'), () => {
        throw new Error('boom');
      }),
    /boom/,
  );
  assert.equal(process.cwd(), before);
});

test('an all-digit basename is not mistaken for a TCP port', (t) => {
  const dir = deepDir(scratchDir('fsmond-', t), 200);
  assert.equal(
    withSocketAddress(path.join(dir, '1234'), (addr) => addr),
    './1234',
  );
});

test('a basename too long for sun_path, or a relative path, is a clear SocketPathError', (t) => {
  const dir = scratchDir('fsmond-', t);
  const before = process.cwd();
  assert.throws(
    () => withSocketAddress(path.join(dir, 'n'.repeat(110)), () => 'unreachable'),
    (err: unknown) => err instanceof SocketPathError && /too long/.test(err.message),
  );
  assert.throws(
    () => withSocketAddress('relative/x.ipc', () => 'unreachable'),
    (err: unknown) => err instanceof SocketPathError && /not absolute/.test(err.message),
  );
  assert.equal(process.cwd(), before);
});
