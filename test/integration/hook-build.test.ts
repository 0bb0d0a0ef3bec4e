/**
 * hooks/build.mjs picks the compiler: a static musl build when musl-gcc exists, the system
 * compiler when musl-gcc is missing or broken, and the Node fallback (exit 0, never a failed
 * install) when none is there or none works. The strict portable build is checked too.
 * Compilers are stand-in scripts on a private PATH, so every case runs on any machine; the
 * stand-in musl-gcc hands its arguments to the real cc, which links glibc statically just as
 * well, so "static" is checked on a real binary.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import {
  daemonStatus,
  makeRepo,
  statusOracle,
  statusWithMonitor,
  stopDaemon,
} from '../helpers/git.js';
import { PACKAGE_ROOT } from '../helpers/hook-harness.js';
import { scratchDir } from '../helpers/scratch.js';
import { waitFor } from '../helpers/wait.js';

const BUILD = path.join(PACKAGE_ROOT, 'hooks', 'build.mjs');
const base = scratchDir('fsmond-hook-build-');
const realCc =
  spawnSync('sh', ['-c', 'command -v cc || command -v gcc || command -v clang'], {
    encoding: 'utf8',
  }).stdout.trim() || null;

/** A PATH holding only the given stand-in scripts (name -> sh body). */
function fakePath(name: string, scripts: Record<string, string>): string {
  const dir = path.join(base, name, 'path');
  fs.mkdirSync(dir, { recursive: true });
  for (const [file, body] of Object.entries(scripts)) {
    fs.writeFileSync(path.join(dir, file), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  }
  return dir;
}

function build(name: string, pathDirs: string, extra: Record<string, string> = {}) {
  const out = path.join(base, name, 'out');
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: pathDirs };
  delete env.CC;
  Object.assign(env, extra);
  const res = spawnSync(process.execPath, [BUILD, '--out', out], { encoding: 'utf8', env });
  const shim = path.join(out, 'fsmond-hook');
  const info = fs.existsSync(path.join(out, 'build.json'))
    ? JSON.parse(fs.readFileSync(path.join(out, 'build.json'), 'utf8'))
    : null;
  return { res, shim, info, out: res.stdout + res.stderr };
}

/** True when the ELF file asks for no program interpreter (no PT_INTERP: statically linked). */
function isStatic(file: string): boolean {
  const b = fs.readFileSync(file);
  const phoff = Number(b.readBigUInt64LE(32));
  const phentsize = b.readUInt16LE(54);
  const phnum = b.readUInt16LE(56);
  for (let i = 0; i < phnum; i++) if (b.readUInt32LE(phoff + i * phentsize) === 3) return false;
  return true;
}

/** True when `name` is in the file as a whole NUL-terminated string (a dynamic symbol). */
function importsSymbol(file: string, name: string): boolean {
  return fs.readFileSync(file).includes(Buffer.from(`\0${name}\0`));
}

/** Version 1 always answers `/`: the cheapest proof that the binary runs. */
function runsV1(shim: string): string {
  return spawnSync(shim, ['1', ''], { encoding: 'latin1', cwd: base }).stdout;
}

const noCc = realCc === null ? 'no C compiler on this machine' : false;
const elf64le = ['x64', 'arm64'].includes(process.arch) ? false : 'the ELF check reads 64-bit LE';

test('musl-gcc, when present, builds a static shim', { skip: noCc || elf64le }, () => {
  const log = path.join(base, 'musl-args');
  const dir = fakePath('musl', { 'musl-gcc': `echo "$@" > ${log}\nexec ${realCc} "$@"` });
  const r = build('musl', `${dir}:/usr/bin:/bin`);
  assert.equal(r.res.status, 0, r.out);
  assert.match(r.out, /with musl-gcc \(musl, static\)/);
  assert.match(fs.readFileSync(log, 'utf8'), /(^| )-static( |$)/);
  assert.equal(r.info.libc, 'musl, static');
  assert.ok(isStatic(r.shim), 'the shim is statically linked');
  assert.equal(runsV1(r.shim), '/');
});

test('a broken musl-gcc falls back to the system compiler', { skip: noCc }, () => {
  const dir = fakePath('broken', { 'musl-gcc': 'echo "musl-gcc: broken" >&2; exit 1' });
  const r = build('broken', `${dir}:${path.dirname(realCc as string)}:/bin`);
  assert.equal(r.res.status, 0, r.out);
  assert.match(r.out, /musl-gcc could not build the C shim: musl-gcc: broken; trying the next/);
  assert.match(r.out, /built .* \(the system libc, dynamic\)/);
  assert.equal(r.info.libc, 'the system libc, dynamic');
  assert.equal(runsV1(r.shim), '/');
});

test('every compiler failing: exit 0, one line, the older build removed (the Node shim is used)', () => {
  const fail = 'echo "$0: error: no" >&2; exit 1';
  const dir = fakePath('allfail', { 'musl-gcc': fail, cc: fail });
  const out = path.join(base, 'allfail', 'out');
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, 'fsmond-hook'), 'an older build', { mode: 0o755 });
  fs.writeFileSync(path.join(out, 'build.json'), '{}');
  const r = build('allfail', dir);
  assert.equal(r.res.status, 0, r.out);
  assert.equal(r.res.stderr, '');
  const last = r.res.stdout.trim().split('\n').at(-1) ?? '';
  assert.match(last, /cc could not build the C shim: .*error: no; git will use the Node shim/);
  assert.match(last, /older .* is removed/);
  assert.equal(fs.existsSync(r.shim), false);
  assert.equal(r.info, null);
});

test('no compiler at all: exit 0, a note, and no binary (the Node shim is used)', () => {
  const dir = fakePath('none', {});
  const r = build('none', dir);
  assert.equal(r.res.status, 0, r.out);
  assert.match(r.res.stdout, /no C compiler found .* git will use the Node shim/);
  assert.equal(fs.existsSync(r.shim), false);
});

/**
 * The portable build: strict C11 and POSIX.1-2008 (no _GNU_SOURCE, so none of the Linux fast
 * paths), -Wall -Wextra -Werror, with each of gcc and clang that is installed. The binary then
 * starts a real daemon (through the launcher path the build put in it) for real git, whose
 * status must match the oracle, and answers incrementally once the daemon watches.
 */
const PORTABLE = '-std=c11 -D_POSIX_C_SOURCE=200809L';
for (const cc of ['gcc', 'clang']) {
  const found = spawnSync('sh', ['-c', `command -v ${cc}`], { encoding: 'utf8' }).stdout.trim();
  const skip = found ? false : `${cc} is not installed`;
  test(`portable build with ${cc} (${PORTABLE}) serves real git`, { skip }, async () => {
    const ccEnv = (flags: string) => ({ CC: `${found} ${flags}`.trim() });
    const strict = build(`portable-${cc}`, process.env.PATH ?? '', ccEnv(PORTABLE));
    assert.equal(strict.res.status, 0, strict.out);
    assert.match(strict.out, /built .*fsmond-hook with/);
    const fast = build(`fast-${cc}`, process.env.PATH ?? '', ccEnv(''));
    assert.equal(fast.res.status, 0, fast.out);
    // Dynamic glibc builds name the libc functions they call: the fast path uses pipe2.
    assert.ok(importsSymbol(fast.shim, 'pipe2'), 'the default build takes the Linux fast path');
    assert.ok(!importsSymbol(strict.shim, 'pipe2'), 'the strict build takes the portable path');

    const wt = makeRepo({ shim: strict.shim });
    try {
      fs.writeFileSync(path.join(wt, 'new.txt'), 'new\n');
      assert.equal(statusWithMonitor(wt), statusOracle(wt)); // starts the daemon
      await waitFor('watching', async () => (await daemonStatus(wt))?.watching === true);
      statusWithMonitor(wt);
      fs.appendFileSync(path.join(wt, 'src/a.txt'), 'edit\n');
      const before = await daemonStatus(wt);
      assert.equal(statusWithMonitor(wt), statusOracle(wt));
      const after = await daemonStatus(wt);
      assert.ok(before && after, 'the daemon answers');
      assert.equal(after.trivialAnswers, before.trivialAnswers, 'the answer was incremental');
    } finally {
      await stopDaemon(wt);
    }
  });
}
