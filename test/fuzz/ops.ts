import fs from 'node:fs';
import { HOOK_LIMITS } from '../../src/contract/index.js';
import { git, type StatusAt, statusOracle, statusWithMonitor } from '../helpers/git.js';
import { type Rng, randomName } from './random.js';
import { copyTree, isInside, join, list } from './tree.js';

export interface OpContext {
  rng: Rng;
  /** The worktree root as a Buffer path. */
  root: Buffer;
  /** A directory outside the worktree, for moves in and out. */
  outside: Buffer;
  wt: string;
  /** The repository's git dir. */
  gitDir: string;
  /** Another worktree directory for the same git dir (`--work-tree=B`), made on first use. */
  other: string;
  /** The pid of the daemon serving `wt` now, if one does. */
  daemonPid(): Promise<number | null>;
  /** A status an operation ran itself: any difference fails the round, as the final one does. */
  compare(where: string, withMonitor: string, oracle: string): void;
}

/** Applies one mutation and says what it did, or returns null when it does not apply now. */
export type Op = (ctx: OpContext) => string | null | Promise<string | null>;
type Edit = (ctx: OpContext) => string | null;

/**
 * The shims' limits while the daemon is stopped, so that a round costs a fraction of a second
 * instead of the 8 s answer deadline a real git command would wait today.
 */
export const PAUSED_HOOK_TIMEOUT_MS = 300;

const show = (ctx: OpContext, p: Buffer) =>
  JSON.stringify(p.subarray(ctx.root.length + 1).toString('latin1'));
const content = (rng: Rng) => `${rng.next()}\n`.repeat(rng.int(0, 3));

function anyDir(ctx: OpContext): Buffer {
  const { dirs } = list(ctx.root);
  return dirs.length && ctx.rng.chance(0.8) ? ctx.rng.pick(dirs) : ctx.root;
}

function anyFile(ctx: OpContext): Buffer | null {
  const { files } = list(ctx.root);
  return files.length ? ctx.rng.pick(files) : null;
}

function someDir(ctx: OpContext): Buffer | null {
  const { dirs } = list(ctx.root);
  return dirs.length ? ctx.rng.pick(dirs) : null;
}

/** A small tree with files at several depths; returns how many entries it made. */
function buildTree(rng: Rng, at: Buffer, depth: number): number {
  fs.mkdirSync(at, { recursive: true });
  let n = 1;
  for (let i = rng.int(0, 3); i > 0; i--) {
    fs.writeFileSync(join(at, randomName(rng, 'file')), content(rng));
    n++;
  }
  if (depth > 0)
    for (let i = rng.int(1, 2); i > 0; i--)
      n += buildTree(rng, join(at, randomName(rng, 'dir')), depth - 1);
  return n;
}

const EDITS: Record<string, Edit> = {
  create(ctx) {
    const p = join(anyDir(ctx), randomName(ctx.rng, 'file'));
    fs.writeFileSync(p, content(ctx.rng));
    return `create ${show(ctx, p)}`;
  },
  modify(ctx) {
    const p = anyFile(ctx);
    if (!p) return null;
    fs.appendFileSync(p, 'more\n');
    return `modify ${show(ctx, p)}`;
  },
  rewriteSameSize(ctx) {
    const p = anyFile(ctx);
    if (!p) return null;
    const old = fs.readFileSync(p);
    fs.writeFileSync(p, Buffer.from(old.map((b) => (b === 0x41 ? 0x42 : 0x41))));
    return `rewrite same size ${show(ctx, p)}`;
  },
  delete(ctx) {
    const p = anyFile(ctx);
    if (!p) return null;
    fs.unlinkSync(p);
    return `delete ${show(ctx, p)}`;
  },
  mkdirDeep(ctx) {
    let p = anyDir(ctx);
    const depth = ctx.rng.int(1, 5);
    for (let i = 0; i < depth; i++) p = join(p, randomName(ctx.rng, 'dir'));
    fs.mkdirSync(p, { recursive: true });
    for (let i = ctx.rng.int(0, 3); i > 0; i--)
      fs.writeFileSync(join(p, randomName(ctx.rng, 'file')), 'x\n');
    return `mkdir -p ${show(ctx, p)} (+files)`;
  },
  rmrf(ctx) {
    const p = someDir(ctx);
    if (!p) return null;
    fs.rmSync(p, { recursive: true, force: true });
    return `rm -rf ${show(ctx, p)}`;
  },
  renameFile(ctx) {
    const p = anyFile(ctx);
    if (!p) return null;
    const q = join(anyDir(ctx), randomName(ctx.rng, 'file'));
    fs.renameSync(p, q);
    return `mv ${show(ctx, p)} ${show(ctx, q)}`;
  },
  renameDir(ctx) {
    const p = someDir(ctx);
    if (!p) return null;
    const parent = anyDir(ctx);
    if (parent.equals(p) || isInside(parent, p)) return null;
    const q = join(parent, randomName(ctx.rng, 'dir'));
    fs.renameSync(p, q);
    return `mv ${show(ctx, p)}/ ${show(ctx, q)}/`;
  },
  renameDirThenEditInside(ctx) {
    const moved = EDITS.renameDir!(ctx);
    if (!moved) return null;
    const files = list(ctx.root).files;
    if (!files.length) return moved;
    const f = ctx.rng.pick(files);
    fs.appendFileSync(f, 'edit after rename\n');
    return `${moved}; edit ${show(ctx, f)}`;
  },
  moveIn(ctx) {
    const src = join(ctx.outside, randomName(ctx.rng, 'dir'));
    const n = buildTree(ctx.rng, src, ctx.rng.int(0, 3));
    const dst = join(anyDir(ctx), randomName(ctx.rng, 'dir'));
    fs.renameSync(src, dst);
    if (ctx.rng.chance(0.5)) {
      fs.writeFileSync(join(dst, Buffer.from('after-move-in.txt')), 'x\n');
    }
    return `move in ${show(ctx, dst)}/ (${n} entries)`;
  },
  moveOut(ctx) {
    const p = someDir(ctx);
    if (!p) return null;
    const dst = join(ctx.outside, randomName(ctx.rng, 'dir'));
    fs.renameSync(p, dst);
    // Changes out there must never show up, and must not upset the watcher.
    fs.writeFileSync(join(dst, Buffer.from('outside-edit.txt')), 'x\n');
    return `move out ${show(ctx, p)}/`;
  },
  fileToDir(ctx) {
    const p = anyFile(ctx);
    if (!p) return null;
    fs.unlinkSync(p);
    fs.mkdirSync(p);
    fs.writeFileSync(join(p, Buffer.from('inside.txt')), 'x\n');
    return `file to dir ${show(ctx, p)}`;
  },
  dirToFile(ctx) {
    const p = someDir(ctx);
    if (!p) return null;
    fs.rmSync(p, { recursive: true, force: true });
    fs.writeFileSync(p, 'now a file\n');
    return `dir to file ${show(ctx, p)}`;
  },
  chmod(ctx) {
    const p = anyFile(ctx);
    if (!p) return null;
    const mode = fs.statSync(p).mode;
    fs.chmodSync(p, mode & 0o100 ? 0o644 : 0o755);
    return `chmod ${mode & 0o100 ? '-x' : '+x'} ${show(ctx, p)}`;
  },
  touch(ctx) {
    const p = ctx.rng.chance(0.5) ? anyFile(ctx) : someDir(ctx);
    if (!p) return null;
    const t = new Date();
    fs.utimesSync(p, t, t);
    return `touch ${show(ctx, p)}`;
  },
  burst(ctx) {
    const names = ['create', 'modify', 'delete', 'renameFile', 'chmod'] as const;
    const done: string[] = [];
    for (let i = ctx.rng.int(10, 40); i > 0; i--) {
      const r = EDITS[ctx.rng.pick(names)]!(ctx);
      if (r) done.push(r);
    }
    return `burst of ${done.length}: ${done.join('; ')}`;
  },
  commit(ctx) {
    git(ctx.wt, ['add', '-A']);
    git(ctx.wt, ['commit', '-q', '--allow-empty', '-m', 'fuzz']);
    return 'git add -A && git commit';
  },
  resetHard(ctx) {
    git(ctx.wt, ['reset', '-q', '--hard']);
    return 'git reset --hard';
  },
  statusMidRound(ctx) {
    statusWithMonitor(ctx.wt);
    return 'git status (mid-round)';
  },
};

/** A few plain edits, as the daemon would see them happen, described. */
function someEdits(ctx: OpContext, max: number): string[] {
  const names = ['create', 'modify', 'rewriteSameSize', 'delete', 'chmod', 'mkdirDeep'] as const;
  const done: string[] = [];
  for (let i = ctx.rng.int(0, max); i > 0; i--) {
    const r = EDITS[ctx.rng.pick(names)]!(ctx);
    if (r) done.push(r);
  }
  return done;
}

export const OPS: Record<string, Op> = {
  ...EDITS,
  /**
   * git run on A's git dir with another worktree B (`git --work-tree=B`, or `GIT_DIR=A/.git`
   * from inside B) asks A's daemon, whose answer is about A's files: B's status must still
   * match the oracle's for B, and the index it writes must not mislead A's next status.
   */
  worktreeOverride(ctx) {
    const other = Buffer.from(ctx.other);
    const fresh = !fs.existsSync(other) || ctx.rng.chance(0.3);
    if (fresh) {
      fs.rmSync(other, { recursive: true, force: true });
      copyTree(ctx.root, other);
    }
    const edits = someEdits({ ...ctx, root: other }, 3);
    const viaEnv = ctx.rng.chance(0.5);
    const at: StatusAt = viaEnv
      ? { cwd: ctx.other, env: { GIT_DIR: ctx.gitDir } }
      : { gitOptions: [`--work-tree=${ctx.other}`] };
    ctx.compare(
      `git status in worktree B, ${viaEnv ? 'cd B; GIT_DIR=A/.git' : 'git --work-tree=B'}`,
      statusWithMonitor(ctx.wt, at),
      statusOracle(ctx.wt, at),
    );
    return (
      `status in B (${fresh ? 'a fresh copy of A' : 'as left'}; ${edits.join('; ') || 'no edits'}) ` +
      `via ${viaEnv ? 'GIT_DIR' : '--work-tree'}`
    );
  },
  /** A daemon that accepts and never answers (SIGSTOP): git must get `/` and stay right. */
  async pauseDaemon(ctx) {
    const pid = await ctx.daemonPid();
    if (!pid) return null;
    try {
      process.kill(pid, 'SIGSTOP');
    } catch {
      return null; // it exited in between
    }
    let edits: string[];
    try {
      edits = someEdits(ctx, 3);
      const at = { env: { [HOOK_LIMITS.timeoutEnv]: String(PAUSED_HOOK_TIMEOUT_MS) } };
      ctx.compare(
        `git status while daemon ${pid} is stopped`,
        statusWithMonitor(ctx.wt, at),
        statusOracle(ctx.wt),
      );
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    return `SIGSTOP daemon ${pid}; ${edits.join('; ') || 'no edits'}; git status; SIGCONT`;
  },
};

/** Relative weights: the structural operations that broke other monitors come often. */
export const DEFAULT_WEIGHTS: Record<string, number> = {
  create: 6,
  modify: 6,
  rewriteSameSize: 2,
  delete: 4,
  mkdirDeep: 3,
  rmrf: 2,
  renameFile: 3,
  renameDir: 3,
  renameDirThenEditInside: 3,
  moveIn: 3,
  moveOut: 2,
  fileToDir: 2,
  dirToFile: 2,
  chmod: 2,
  touch: 2,
  burst: 1,
  commit: 2,
  resetHard: 1,
  statusMidRound: 2,
  worktreeOverride: 2,
  pauseDaemon: 1,
  restartDaemon: 0,
};
