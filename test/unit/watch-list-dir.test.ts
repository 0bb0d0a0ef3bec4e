import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { decodeDirents, fromReaddir, type Listing, listDir } from '../../src/watch/list-dir.js';

const root = mkdtempSync(path.join(tmpdir(), 'fsmond-list-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** Byte names as latin1 strings, the daemon's form: one is not valid UTF-8. */
const ODD = Buffer.from([0x66, 0xff, 0xfe, 0x2e, 0x74]).toString('latin1');

function populate(dir: string, files: number) {
  mkdirSync(dir);
  const want = { dirs: new Set<string>(), files: new Set<string>() };
  // Long names, so the entries need several 64 KiB getdents64 reads.
  for (let i = 0; i < files; i++) {
    const name = `${String(i).padStart(6, '0')}-${'x'.repeat(200)}`;
    writeFileSync(path.join(dir, name), '');
    want.files.add(name);
  }
  for (const name of ['sub', 'sub two', '.hidden']) {
    mkdirSync(path.join(dir, name));
    want.dirs.add(name);
  }
  writeFileSync(Buffer.from(`${dir}/${ODD}`, 'latin1'), '');
  want.files.add(ODD);
  mkdirSync(Buffer.from(`${dir}/d${ODD}`, 'latin1'));
  want.dirs.add(`d${ODD}`);
  // A symlink to a directory is a file entry: never descended into.
  symlinkSync('sub', path.join(dir, 'link-to-sub'));
  want.files.add('link-to-sub');
  writeFileSync(path.join(dir, '.git'), 'gitdir: elsewhere\n');
  want.files.add('.git');
  return want;
}

function asSets(l: Listing) {
  return { dirs: new Set(l.dirs), files: new Set(l.files) };
}

test('getdents64 listing and the readdir fallback agree with what was created', () => {
  const dir = path.join(root, 'many');
  const want = populate(dir, 1500);
  const got = listDir(dir, true);
  assert.equal(got.dirs.length + got.files.length, want.dirs.size + want.files.size);
  assert.deepEqual(asSets(got), want);
  assert.deepEqual(asSets(fromReaddir(Buffer.from(dir, 'latin1'), true)), want);
  // Directories only: no name of any other entry.
  const dirsOnly = listDir(dir, false);
  assert.deepEqual(new Set(dirsOnly.dirs), want.dirs);
  assert.deepEqual(dirsOnly.files, []);
  assert.deepEqual(fromReaddir(Buffer.from(dir, 'latin1'), false).files, []);
});

test('an empty directory lists nothing; a bad path fails as fs does, with the errno as code', () => {
  const empty = path.join(root, 'empty');
  mkdirSync(empty);
  assert.deepEqual(listDir(empty, true), { dirs: [], files: [] });
  assert.throws(() => listDir(path.join(root, 'missing'), true), { code: 'ENOENT' });
  const file = path.join(root, 'plain');
  writeFileSync(file, '');
  assert.throws(() => listDir(file, true), { code: 'ENOTDIR' });
});

/** One struct linux_dirent64 in host byte order, padded to 8 bytes as the kernel does. */
function dirent(name: string, type: number): Buffer {
  const nameBytes = Buffer.from(`${name}\0`, 'latin1');
  const reclen = Math.ceil((19 + nameBytes.length) / 8) * 8;
  const rec = Buffer.alloc(reclen);
  rec.writeBigUInt64LE(1n, 0);
  if (os.endianness() === 'LE') rec.writeUInt16LE(reclen, 16);
  else rec.writeUInt16BE(reclen, 16);
  rec[18] = type;
  nameBytes.copy(rec, 19);
  return rec;
}

test('records of unknown type (DT_UNKNOWN) are typed by an lstat; a name gone meanwhile is left out', () => {
  const dir = path.join(root, 'untyped');
  mkdirSync(dir);
  mkdirSync(path.join(dir, 'a-dir'));
  writeFileSync(path.join(dir, 'a-file'), '');
  symlinkSync('a-dir', path.join(dir, 'a-link'));
  const DT_UNKNOWN = 0;
  const DT_REG = 8;
  const records = Buffer.concat([
    dirent('.', 4),
    dirent('..', 4),
    dirent('a-dir', DT_UNKNOWN),
    dirent('a-file', DT_UNKNOWN),
    dirent('a-link', DT_UNKNOWN),
    dirent('vanished', DT_UNKNOWN),
    dirent('typed-file', DT_REG),
  ]);
  const all: Listing = { dirs: [], files: [] };
  decodeDirents(records, records.length, Buffer.from(dir, 'latin1'), all, true);
  assert.deepEqual(all, { dirs: ['a-dir'], files: ['a-file', 'a-link', 'typed-file'] });
  const dirsOnly: Listing = { dirs: [], files: [] };
  decodeDirents(records, records.length, Buffer.from(dir, 'latin1'), dirsOnly, false);
  assert.deepEqual(dirsOnly, { dirs: ['a-dir'], files: [] });
});
