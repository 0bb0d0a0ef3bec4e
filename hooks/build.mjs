// Builds the C hook shim hooks/bin/fsmond-hook from hooks/fsmond-hook.c (run by `npm run
// build`). Without a C compiler it prints one line and exits 0: git-fsmond then uses the Node
// fallback hooks/fsmond-hook.cjs (about 25 ms per git command instead of about 1 ms).
// A compiler that is present but fails is an error. $CC overrides the compiler.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const hooksDir = path.dirname(fileURLToPath(import.meta.url));
const source = path.join(hooksDir, 'fsmond-hook.c');
const binDir = path.join(hooksDir, 'bin');
const target = path.join(binDir, 'fsmond-hook');
const rel = (p) => path.relative(process.cwd(), p) || '.';

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

function findCompiler() {
  if (process.env.CC?.trim()) return process.env.CC.trim().split(/\s+/);
  for (const name of ['cc', 'gcc', 'clang']) {
    for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
      const file = path.join(dir || '.', name);
      try {
        fs.accessSync(file, fs.constants.X_OK);
        if (fs.statSync(file).isFile()) return [file];
      } catch {
        // not here
      }
    }
  }
  return null;
}

const cc = findCompiler();
if (!cc) {
  console.log(
    'hooks/build.mjs: no C compiler found (cc, gcc, clang); the hook will be the Node ' +
      'fallback hooks/fsmond-hook.cjs (~25 ms per git command instead of ~1 ms)',
  );
  process.exit(0);
}

fs.mkdirSync(binDir, { recursive: true });
// Compile to a temporary name and rename: concurrent builds never see a half-written file,
// and a shim that is running at that moment keeps its old inode (no ETXTBSY).
const tmp = path.join(binDir, `.fsmond-hook.${process.pid}.tmp`);
const [prog, ...pre] = cc;
const args = [...pre, '-O2', '-Wall', '-Wextra', '-Werror', '-o', tmp, source];
const res = spawnSync(prog, args, { stdio: ['ignore', 'inherit', 'inherit'] });
if (res.error?.code === 'ENOENT' && process.env.CC) {
  console.log(`hooks/build.mjs: $CC (${process.env.CC}) not found; using the Node fallback hook`);
  process.exit(0);
}
if (res.status !== 0) {
  fs.rmSync(tmp, { force: true });
  console.error(`hooks/build.mjs: ${[prog, ...args].join(' ')} failed`);
  process.exit(1);
}
fs.renameSync(tmp, target);
console.log(`hooks/build.mjs: built ${rel(target)} with ${path.basename(prog)}`);
