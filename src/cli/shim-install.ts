/**
 * Puts the shims git runs into the per-user shim home (src/contract/shim-home.ts) and proves
 * they run on this machine. A package built elsewhere (`npm pack` compiles on the packer's
 * machine) may carry a binary of another architecture or libc, which git would run through
 * sh with a syntax error on every command: a shim counts only once it has answered here.
 */
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  NEVER_VALID_ID_PREFIX,
  packageVersion,
  shimHome,
  shimHomeFile,
} from '../contract/index.js';
import { CliError, LAUNCHER, PACKAGE_ROOT } from './common.js';
import { C_SHIM, NODE_SHIM } from './config.js';

const run = promisify(execFile);

const SOURCE = path.join(PACKAGE_ROOT, 'hooks', 'fsmond-hook.c');
const BUILD_SCRIPT = path.join(PACKAGE_ROOT, 'hooks', 'build.mjs');

const NEVER_VALID_ANSWER = new RegExp(`^builtin:${NEVER_VALID_ID_PREFIX.shim}[0-9.:]+\\0/\\0$`);

/**
 * Runs the shim once the way git does, in an empty directory (no repository, so it answers the
 * never-valid token and `/` at once). null when that is what it printed, else what happened.
 */
export async function runShimOnce(shim: string): Promise<string | null> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fsmond-shim-check-'));
  const env = { ...process.env };
  for (const key of Object.keys(env)) if (key.startsWith('GIT_')) delete env[key];
  try {
    const { stdout, stderr } = await run(shim, ['2', 'fsmond-check'], {
      cwd: dir,
      env,
      encoding: 'latin1',
      timeout: 10_000,
    });
    if (NEVER_VALID_ANSWER.test(stdout) && stderr === '') return null;
    return `it printed ${JSON.stringify((stdout + stderr).slice(0, 80))} instead of its answer`;
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string; signal?: string };
    if (e.code === 'ENOENT') return 'it cannot be run here (missing, or its interpreter is)';
    if (e.code === 'ENOEXEC') return 'it is not an executable for this machine (ENOEXEC)';
    if (e.code === 'EACCES') return 'it is not executable (EACCES)';
    const said = (e.stderr ?? '').trim().split('\n')[0];
    return `it failed (${e.signal ?? `exit ${e.code}`})${said ? `: ${said}` : ''}`;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export interface ShimChoice {
  kind: 'c' | 'node';
  path: string;
  /** Why the C shim is not the one (no compiler, a failed build, it does not run here). */
  cProblem: string | null;
}

interface Record {
  version: string;
  packageRoot: string;
  sourceSha256: string | null;
}

const sha256 = (file: string) =>
  crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');

function readRecord(): Partial<Record> {
  try {
    return JSON.parse(fs.readFileSync(shimHomeFile('record'), 'utf8'));
  } catch {
    return {};
  }
}

/** Write beside, then rename: a git command running the old file keeps its inode. */
function replaceFile(target: string, write: (tmp: string) => void): void {
  const tmp = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.tmp`);
  fs.rmSync(tmp, { force: true });
  write(tmp);
  fs.renameSync(tmp, target);
}

function linkLauncher(): void {
  const link = shimHomeFile('launcher');
  const current = fs.existsSync(path.dirname(link)) ? readLinkOrNull(link) : null;
  if (current === LAUNCHER) return;
  fs.mkdirSync(path.dirname(link), { recursive: true });
  replaceFile(link, (tmp) => fs.symlinkSync(LAUNCHER, tmp));
}

function readLinkOrNull(p: string): string | null {
  try {
    return fs.readlinkSync(p);
  } catch {
    return null;
  }
}

function copyNodeShim(): void {
  const target = shimHomeFile('nodeShim');
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const want = fs.readFileSync(NODE_SHIM);
  const have = fs.existsSync(target) ? fs.readFileSync(target) : null;
  if (have?.equals(want) && (fs.statSync(target).mode & 0o111) !== 0) return;
  replaceFile(target, (tmp) => fs.writeFileSync(tmp, want, { mode: 0o755 }));
}

/** The package's build copied into `dir`, when it was made from the source the package has. */
function copyPackageBuild(dir: string): boolean {
  try {
    if (fs.statSync(C_SHIM).mtimeMs < fs.statSync(SOURCE).mtimeMs) return false;
    fs.copyFileSync(C_SHIM, path.join(dir, 'fsmond-hook'));
    const info = path.join(path.dirname(C_SHIM), 'build.json');
    if (fs.existsSync(info)) fs.copyFileSync(info, path.join(dir, 'build.json'));
    return true;
  } catch {
    return false;
  }
}

/** Compiles the C shim into `dir` with hooks/build.mjs; null when it did, else why not. */
async function compileInto(dir: string): Promise<string | null> {
  try {
    const { stdout } = await run(process.execPath, [BUILD_SCRIPT, '--out', dir], {
      timeout: 120_000,
    });
    if (fs.existsSync(path.join(dir, 'fsmond-hook'))) return null;
    return (
      stdout
        .trim()
        .split('\n')
        .pop()
        ?.replace(/^hooks\/build\.mjs: /, '') || 'no C shim'
    );
  } catch (err) {
    const e = err as Error & { stderr?: string };
    return `the build failed: ${(e.stderr || e.message).trim().split('\n').pop()}`;
  }
}

/**
 * Keeps the shim home's C shim when it is of this source and runs, else puts one there that
 * runs: the package's build if it runs here (a checkout's), else one compiled here.
 */
async function ensureCShim(record: Partial<Record>, sourceSha256: string): Promise<string | null> {
  const target = shimHomeFile('cShim');
  // Same source and same package: a build there also names this package's launcher.
  const current = record.sourceSha256 === sourceSha256 && record.packageRoot === PACKAGE_ROOT;
  if (current && (await runShimOnce(target)) === null) return null;
  const dir = path.join(shimHome(), 'hooks', `.build-${process.pid}`);
  const built = path.join(dir, 'fsmond-hook');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  try {
    if (!copyPackageBuild(dir) || (await runShimOnce(built)) !== null) {
      fs.rmSync(built, { force: true });
      const problem = await compileInto(dir);
      if (problem) return problem;
      const ran = await runShimOnce(built);
      if (ran) return `the C shim built here does not run: ${ran}`;
    }
    fs.mkdirSync(path.dirname(target), { recursive: true });
    const info = path.join(dir, 'build.json');
    if (fs.existsSync(info)) fs.renameSync(info, path.join(path.dirname(target), 'build.json'));
    fs.renameSync(built, target);
    return null;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Why the shim home is not what this package would install (an upgrade since), or null. */
export function shimHomeStale(): string | null {
  const record = readRecord();
  if (record.version === undefined) return 'no shim was installed there';
  if (record.packageRoot !== PACKAGE_ROOT)
    return `it was set up by the package in '${record.packageRoot}'`;
  if (record.sourceSha256 && record.sourceSha256 !== sha256(SOURCE)) {
    return `its C shim was built from the source of version ${record.version}`;
  }
  return null;
}

/**
 * Makes the shim home current for this package (launcher link, Node shim, C shim built from
 * this package's source) and returns the shim git should run: the C one when it runs here,
 * else the Node one. Paths a config may point at are replaced, never removed.
 */
export async function installShims(): Promise<ShimChoice> {
  try {
    linkLauncher();
    copyNodeShim();
  } catch (err) {
    throw new CliError(`cannot set up the shim in '${shimHome()}': ${(err as Error).message}`);
  }
  const record = readRecord();
  const sourceSha256 = sha256(SOURCE);
  const cProblem = await ensureCShim(record, sourceSha256);
  const nodeProblem = cProblem ? await runShimOnce(shimHomeFile('nodeShim')) : null;
  if (cProblem && nodeProblem) {
    throw new CliError(`no shim runs here: the C one: ${cProblem}; the Node one: ${nodeProblem}`);
  }
  const now: Record = {
    version: packageVersion(),
    packageRoot: PACKAGE_ROOT,
    sourceSha256: cProblem ? null : sourceSha256,
  };
  fs.writeFileSync(shimHomeFile('record'), `${JSON.stringify(now)}\n`);
  return cProblem
    ? { kind: 'node', path: shimHomeFile('nodeShim'), cProblem }
    : { kind: 'c', path: shimHomeFile('cShim'), cProblem: null };
}
