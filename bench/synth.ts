/**
 * Synthetic repositories for the scale benchmarks: N files, about 15 per directory, in a tree
 * of fan-out 8 (100k files: 6,667 directories, 1M: 66,667), committed, untracked cache on.
 *
 * Generated with `git fast-import` (256 distinct blobs, so the pack stays small) and checked
 * out with `git reset --hard`; cached under a directory that is reused on the next run once
 * verified (marker version, HEAD, and a clean `git status` on the base index).
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sleep } from './measure.js';

/** Bump when the layout or content changes: cached repositories are then regenerated. */
export const GENERATOR_VERSION = 1;
const FILES_PER_DIR = 15;
const FAN_OUT = 8;
const BLOBS = 256;

export interface Scale {
  name: string;
  files: number;
}

/** `10k`, `100k`, `1m`, or a plain number of files. */
export function parseScale(s: string): Scale {
  const m = /^(\d+(?:\.\d+)?)([km]?)$/i.exec(s.trim());
  if (!m) throw new Error(`bad --scale ${JSON.stringify(s)} (use 10k, 100k, 1m or a number)`);
  const unit = m[2]!.toLowerCase();
  const files = Math.round(Number(m[1]) * (unit === 'k' ? 1e3 : unit === 'm' ? 1e6 : 1));
  if (!(files >= 1)) throw new Error(`bad --scale ${s}`);
  return { name: `${m[1]}${unit}`, files };
}

/** Names and contents of the synthetic tree, as pure functions of the file count. */
export class Layout {
  readonly dirs: number;
  private readonly dirPaths: string[];

  constructor(readonly files: number) {
    this.dirs = Math.max(1, Math.round(files / FILES_PER_DIR));
    this.dirPaths = new Array<string>(this.dirs);
    this.dirPaths[0] = '';
    for (let i = 1; i < this.dirs; i++) {
      const parent = this.dirPaths[Math.floor((i - 1) / FAN_OUT)]!;
      const name = `dir_${(i - 1) % FAN_OUT}`;
      this.dirPaths[i] = parent ? `${parent}/${name}` : name;
    }
  }

  /** Worktree-relative path of file j (0 <= j < files). */
  rel(j: number): string {
    const dir = this.dirPaths[Math.floor((j * this.dirs) / this.files)]!;
    return dir ? `${dir}/file_${j}.txt` : `file_${j}.txt`;
  }

  blobOf(j: number): number {
    return j % BLOBS;
  }

  content(j: number): string {
    const k = this.blobOf(j);
    return `synthetic content ${k}\n`.repeat(1 + (k % 16));
  }

  /** `count` files spread evenly over the tree (distinct when count <= files). */
  spread(count: number, offset = 0): number[] {
    const n = Math.min(count, this.files);
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push((Math.floor((i * this.files) / n) + offset) % this.files);
    return out;
  }
}

export interface SynthRepo {
  scale: Scale;
  layout: Layout;
  cacheDir: string;
  root: string;
  gitDir: string;
  head: string;
  /** Wall time of generation, or null when the cached repository was reused. */
  generatedMs: number | null;
  verifyMs: number;
}

interface Marker {
  version: number;
  files: number;
  dirs: number;
  head: string;
}

const tmpHome = fs.mkdtempSync(path.join(os.tmpdir(), 'fsmond-bench-home-'));
process.on('exit', () => fs.rmSync(tmpHome, { recursive: true, force: true }));

/** git with no user or system config, and none of the caller's GIT_* variables. */
export function gitEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('GIT_')) env[k] = v;
  return {
    ...env,
    HOME: tmpHome,
    XDG_CONFIG_HOME: path.join(tmpHome, '.config'),
    GIT_CONFIG_NOSYSTEM: '1',
    LC_ALL: 'C',
    ...extra,
  };
}

export function git(cwd: string, args: string[], extraEnv: Record<string, string> = {}): string {
  const r = spawnSync('git', args, {
    cwd,
    env: gitEnv(extraEnv),
    encoding: 'latin1',
    maxBuffer: 1 << 30,
  });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/** The base index is the repository's own (.git/index), used only without fsmonitor. */
export function statusClean(root: string, index?: string): boolean {
  const env: Record<string, string> = index ? { GIT_INDEX_FILE: index } : {};
  return git(root, ['-c', 'core.fsmonitor=false', 'status', '--porcelain'], env) === '';
}

/**
 * Brings an index up to date with the worktree and out of the racy-git window: one status
 * refreshes the stat data, a second one a second later rewrites the index with an mtime
 * later than every file's, so no entry is re-hashed on later runs.
 */
export async function settleIndex(root: string, index?: string): Promise<void> {
  const env: Record<string, string> = index ? { GIT_INDEX_FILE: index } : {};
  const args = ['-c', 'core.fsmonitor=false', 'status', '--porcelain'];
  git(root, args, env);
  await sleep(1100);
  git(root, args, env);
}

/** The index files of the benchmark's modes (bench/modes.ts), left over or done with. */
export function removeBenchIndexes(root: string): void {
  const dir = path.join(root, '.git');
  for (const f of fs.readdirSync(dir)) {
    if (f.startsWith('bench-index-')) fs.rmSync(path.join(dir, f), { force: true });
  }
}

export function defaultCacheDir(scale: Scale): string {
  return path.join(os.tmpdir(), `fsmond-bench-${scale.name}`);
}

/** Returns a verified synthetic repository, generating it when the cache is missing or stale. */
export async function ensureRepo(
  scale: Scale,
  cacheDir: string,
  log: (msg: string) => void,
  name = 'repo',
): Promise<SynthRepo> {
  const layout = new Layout(scale.files);
  const root = path.join(cacheDir, name);
  const markerFile = path.join(cacheDir, name === 'repo' ? 'marker.json' : `${name}.marker.json`);
  const t0 = performance.now();
  const reused = verify(root, markerFile, layout, log);
  let generatedMs: number | null = null;
  if (!reused) {
    log(`generating ${layout.files} files in ${layout.dirs} directories under ${root} ...`);
    // Only what we own: --cache-dir may be a directory that holds other things.
    fs.rmSync(root, { recursive: true, force: true });
    fs.rmSync(markerFile, { force: true });
    fs.mkdirSync(cacheDir, { recursive: true });
    await generate(root, layout);
    const head = git(root, ['rev-parse', 'HEAD']).trim();
    await settleIndex(root);
    if (!statusClean(root)) throw new Error('generated repository is not clean');
    const marker: Marker = {
      version: GENERATOR_VERSION,
      files: layout.files,
      dirs: layout.dirs,
      head,
    };
    fs.writeFileSync(markerFile, `${JSON.stringify(marker)}\n`);
    generatedMs = performance.now() - t0;
    log(`generated in ${(generatedMs / 1000).toFixed(1)} s`);
  } else {
    await settleIndex(root);
  }
  const head = git(root, ['rev-parse', 'HEAD']).trim();
  return {
    scale,
    layout,
    cacheDir,
    root,
    gitDir: path.join(root, '.git'),
    head,
    generatedMs,
    verifyMs: reused ? performance.now() - t0 : 0,
  };
}

function verify(
  root: string,
  markerFile: string,
  layout: Layout,
  log: (m: string) => void,
): boolean {
  let marker: Marker;
  try {
    marker = JSON.parse(fs.readFileSync(markerFile, 'utf8')) as Marker;
  } catch {
    return false;
  }
  if (
    marker.version !== GENERATOR_VERSION ||
    marker.files !== layout.files ||
    marker.dirs !== layout.dirs
  ) {
    log(`cached repository is from another generator version or scale: regenerating`);
    return false;
  }
  try {
    if (git(root, ['rev-parse', 'HEAD']).trim() !== marker.head) {
      log('cached repository has another HEAD: regenerating');
      return false;
    }
    removeBenchIndexes(root);
    if (statusClean(root)) return true;
    log('cached repository has changes: resetting');
    git(root, ['reset', '-q', '--hard']);
    git(root, ['clean', '-fdxq']);
    if (statusClean(root)) return true;
  } catch (err) {
    log(`cached repository unusable (${(err as Error).message.trim()}): regenerating`);
    return false;
  }
  log('cached repository still not clean: regenerating');
  return false;
}

async function generate(root: string, layout: Layout): Promise<void> {
  fs.mkdirSync(root, { recursive: true });
  git(root, ['init', '-q', '-b', 'main']);
  git(root, ['config', 'core.untrackedCache', 'true']);
  git(root, ['config', 'gc.auto', '0']);
  const child = spawn('git', ['fast-import', '--quiet', '--done'], {
    cwd: root,
    env: gitEnv(),
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
  child.stdin.on('error', () => {}); // a failing fast-import is reported by its exit code
  let buf = '';
  const flush = async () => {
    if (!child.stdin.write(buf)) {
      await Promise.race([new Promise((r) => child.stdin.once('drain', r)), exited]);
    }
    buf = '';
  };
  for (let k = 0; k < BLOBS; k++) {
    const j = k; // file k has blob k
    const c = layout.content(j);
    buf += `blob\nmark :${k + 1}\ndata ${Buffer.byteLength(c)}\n${c}\n`;
  }
  buf += 'commit refs/heads/main\ncommitter Bench <bench@example.com> 1700000000 +0000\n';
  const message = 'synthetic bench tree\n';
  buf += `data ${message.length}\n${message}\n`;
  for (let j = 0; j < layout.files; j++) {
    buf += `M 100644 :${layout.blobOf(j) + 1} ${layout.rel(j)}\n`;
    if (buf.length > 1 << 20) await flush();
  }
  buf += '\ndone\n';
  await flush();
  child.stdin.end();
  const code = await exited;
  if (code !== 0) throw new Error(`git fast-import failed (${code}): ${stderr}`);
  git(root, ['-c', 'checkout.workers=0', 'reset', '-q', '--hard']);
}
