// Builds the C hook shim hooks/bin/fsmond-hook from hooks/fsmond-hook.c (run by `npm run
// build`), statically against musl when musl-gcc exists, else with the system compiler.
// It never fails the install: without a C compiler, or when every compiler fails, it prints
// one line and exits 0, and git-fsmond uses the Node fallback hooks/fsmond-hook.cjs (slower
// per git command, same answers); an older build in the output directory is removed then, so
// that `enable` and `doctor` see the fallback. $CC overrides the choice; `--out DIR` builds
// into DIR instead of hooks/bin. Either way the shim starts <pkg>/bin/git-fsmond.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const hooksDir = path.dirname(fileURLToPath(import.meta.url));
const source = path.join(hooksDir, 'fsmond-hook.c');
const outAt = process.argv.indexOf('--out');
const binDir = outAt > 0 ? path.resolve(process.argv[outAt + 1] ?? '') : path.join(hooksDir, 'bin');
const target = path.join(binDir, 'fsmond-hook');
const info = path.join(binDir, 'build.json');
const rel = (p) => {
  const r = path.relative(process.cwd(), p);
  return r.startsWith('..') ? p : r || '.';
};

// git runs core.fsmonitor through `sh -c` when the value has any of these (run-command.c).
if (/[|&;<>()$`\\"' \t\n*?[#~=%]/.test(hooksDir)) {
  console.log(
    `hooks/build.mjs: warning: ${JSON.stringify(hooksDir)} contains spaces or shell ` +
      'metacharacters, so git will run the hook through sh -c (1-2 ms slower per command); ' +
      'install git-fsmond under a plain path',
  );
}

try {
  fs.chmodSync(path.join(hooksDir, 'fsmond-hook.cjs'), 0o755); // in case a packer dropped it
} catch {
  // read-only install: leave it
}

const isExecutableFile = (file) => {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
};

/** The first of `names` found on PATH (earlier names win over earlier PATH entries). */
function firstOnPath(names) {
  const dirs = (process.env.PATH ?? '').split(path.delimiter);
  for (const name of names) {
    const file = dirs.map((dir) => path.join(dir || '.', name)).find(isExecutableFile);
    if (file) return file;
  }
  return null;
}

/**
 * Compilers to try, best first. A static musl build comes first because the shim's cost is
 * mostly process start-up: glibc's start-up runs about a hundred CPUID instructions, and in a
 * virtual machine each one traps to the hypervisor (8.5 us apiece measured here), so a glibc
 * binary doing nothing takes 0.9 ms to run where a static musl one takes 0.1 ms. $CC, when
 * set, is the only candidate.
 */
function candidates() {
  if (process.env.CC?.trim()) {
    const [prog, ...pre] = process.env.CC.trim().split(/\s+/);
    return [{ prog, pre, flags: [], libc: 'as $CC builds', fromEnv: true }];
  }
  const list = [];
  const musl = firstOnPath(['musl-gcc']);
  if (musl) list.push({ prog: musl, pre: [], flags: ['-static'], libc: 'musl, static' });
  const cc = firstOnPath(['cc', 'gcc', 'clang']);
  if (cc) list.push({ prog: cc, pre: [], flags: [], libc: 'the system libc, dynamic' });
  return list;
}

const launcher = path.join(hooksDir, '..', 'bin', 'git-fsmond');
// A C string literal: JSON escapes quotes and backslashes the way C reads them.
const launcherFlag = `-DFSMOND_LAUNCHER=${JSON.stringify(path.resolve(launcher))}`;

/** The end of every run without a C shim: one line, exit 0 (see the header). */
function useNodeShim(why) {
  let removed = '';
  if (fs.existsSync(target)) {
    fs.rmSync(target, { force: true });
    removed = ` (the older ${rel(target)} is removed)`;
  }
  fs.rmSync(info, { force: true });
  console.log(
    `hooks/build.mjs: ${why}; git will use the Node shim hooks/fsmond-hook.cjs ` +
      `(it starts node on every git command, about what \`node -e 0\` costs, instead of ~1 ms)${removed}`,
  );
  process.exit(0);
}

const list = candidates();
if (list.length === 0) useNodeShim('no C compiler found (musl-gcc, cc, gcc, clang)');

fs.mkdirSync(binDir, { recursive: true });
// Compile to a temporary name and rename: concurrent builds never see a half-written file,
// and a shim that is running at that moment keeps its old inode (no ETXTBSY).
const tmp = path.join(binDir, `.fsmond-hook.${process.pid}.tmp`);
let lastFailure = '';
for (const [i, c] of list.entries()) {
  const args = [
    ...c.pre,
    '-O2',
    '-Wall',
    '-Wextra',
    '-Werror',
    ...c.flags,
    launcherFlag,
    '-o',
    tmp,
    source,
  ];
  const res = spawnSync(c.prog, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  if (res.error?.code === 'ENOENT' && c.fromEnv) useNodeShim(`$CC (${process.env.CC}) not found`);
  if (res.status === 0) {
    fs.renameSync(tmp, target);
    // Read by `git fsmond doctor` to say which build git runs.
    fs.writeFileSync(info, `${JSON.stringify({ compiler: c.prog, libc: c.libc })}\n`);
    console.log(`hooks/build.mjs: built ${rel(target)} with ${path.basename(c.prog)} (${c.libc})`);
    process.exit(0);
  }
  fs.rmSync(tmp, { force: true });
  // The compiler's first error line (else its first line) keeps the note to one line.
  const lines = `${res.stderr ?? ''}${res.stdout ?? ''}`.split('\n').filter((l) => l.trim());
  const said = lines.find((l) => /error/i.test(l)) ?? lines[0];
  const reason = said?.trim() || res.error?.message || `exit ${res.status ?? res.signal}`;
  lastFailure = `${path.basename(c.prog)} could not build the C shim: ${reason}`;
  // A broken musl install must not cost the user the C shim: the system compiler is next.
  if (i < list.length - 1) console.log(`hooks/build.mjs: ${lastFailure}; trying the next compiler`);
}
useNodeShim(lastFailure);
