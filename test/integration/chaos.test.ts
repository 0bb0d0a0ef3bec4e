/**
 * Chaos: `git status` through the real shim, in a loop, each answer checked against the oracle
 * (`git --no-optional-locks -c core.fsmonitor=false status`), while another loop at random
 * SIGKILLs the daemon, stops it for a while (SIGSTOP, then SIGCONT: a mute daemon), steals its
 * socket (renamed away, or taken by a thief server that never answers, answers garbage, or
 * hangs up), starts several daemons at once (at most one may live on), sends garbage (random
 * bytes, half requests, huge lengths, oversize requests, slow writers, early hang-ups),
 * flushes and quits. Files are edited between status runs only, so each comparison is well
 * defined; the edits include directories made unreadable (0000, or 0111 with tracked files
 * inside) and made readable again. Some checks run git on the same git dir with another
 * worktree (`git --work-tree=B`, or `GIT_DIR` from inside B) against the oracle for B. It
 * must end with zero wrong answers, zero hung git commands (30 s guard) and never two daemons
 * for the worktree.
 *
 * Root passes every permission check, so as root the whole run is repeated in a child process
 * without capabilities (setpriv; still uid 0, so it owns its files): there an unreadable
 * directory is unreadable to git and the daemon alike.
 *
 * FSMOND_CHAOS_SECONDS (default 20; `npm run chaos` runs 150), FSMOND_CHAOS_SEED.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { type TestContext, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { encodeMessage } from '../../src/ipc/index.js';
import {
  GIT_ENV,
  git,
  gitDirOf,
  makeRepo,
  socketOf,
  statusAt,
  stopDaemon,
} from '../helpers/git.js';
import {
  alive,
  closeServer,
  type DaemonProc,
  type GitRun,
  gitGuarded,
  readLog,
  reap,
  spawnDaemon,
} from '../helpers/lifecycle-util.js';
import { scratchDir } from '../helpers/scratch.js';
import { waitFor } from '../helpers/wait.js';

const SECONDS = Number(process.env.FSMOND_CHAOS_SECONDS) || 20;
const SEED = Number(process.env.FSMOND_CHAOS_SEED) || Date.now() % 1_000_000;
const STATUS = ['status', '--porcelain=v2', '--untracked-files=all'];
const ORACLE = ['--no-optional-locks', '-c', 'core.fsmonitor=false', ...STATUS];

/** mulberry32: a reproducible run for a given seed (timing aside). */
function rng(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Root that keeps uid 0 but holds no capability, now or after any exec. */
const WITHOUT_CAPS = [
  '--securebits=+noroot,+noroot_locked,+no_setuid_fixup,+no_setuid_fixup_locked,+keep_caps_locked',
  '--bounding-set=-all',
  '--inh-caps=-all',
  '--ambient-caps=-all',
];
const UNPRIVILEGED = 'FSMOND_CHAOS_WITHOUT_CAPS';

function canDropCaps(): boolean {
  return spawnSync('setpriv', [...WITHOUT_CAPS, '--', 'true']).status === 0;
}

/** Makes every directory below `dir` readable again, so that it can be copied or removed. */
function readableAgain(dir: string): void {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (!e.isDirectory()) continue;
    const p = path.join(dir, e.name);
    fs.chmodSync(p, 0o755);
    readableAgain(p);
  }
}

/** `src` to `dst` without `.git`, skipping what cannot be read (unreadable directories). */
function copyReadable(src: string, dst: string): void {
  fs.mkdirSync(dst, { recursive: true });
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(src, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    if (e.name === '.git') continue;
    const from = path.join(src, e.name);
    try {
      if (e.isDirectory()) copyReadable(from, path.join(dst, e.name));
      else fs.copyFileSync(from, path.join(dst, e.name));
    } catch {
      // unreadable: B simply lacks it
    }
  }
}

/** Live processes running `git-fsmond daemon <wt>` (zombies have no cmdline). */
function daemonsFor(wt: string): number[] {
  const pids: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const argv = fs.readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
      if (argv.includes('daemon') && argv.includes(wt)) pids.push(Number(name));
    } catch {
      // gone
    }
  }
  return pids;
}

const asRootWithCaps = process.getuid?.() === 0 && !process.env[UNPRIVILEGED];

if (asRootWithCaps && canDropCaps()) {
  test(`chaos for ${SECONDS} s (seed ${SEED}), without root's capabilities`, {
    timeout: (SECONDS + 300) * 1000,
  }, async (t) => {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      [UNPRIVILEGED]: '1',
      FSMOND_CHAOS_SEED: String(SEED),
      FSMOND_CHAOS_SECONDS: String(SECONDS),
    };
    // Run as a plain script, not as a child of this test runner.
    delete env.NODE_TEST_CONTEXT;
    const args = [...WITHOUT_CAPS, '--', process.execPath, fileURLToPath(import.meta.url)];
    const child = spawn('setpriv', args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)));
    // Its stats and first failures, once each: they are the child's top-level diagnostics.
    const summary = /^# (tests|suites|pass|fail|cancelled|skipped|todo|duration_ms) /;
    for (const line of out.split('\n')) {
      if (line.startsWith('# ') && !summary.test(line))
        t.diagnostic(line.slice(2).replaceAll('\\n', '\n'));
    }
    assert.equal(code, 0, `the run without capabilities failed; its end:\n${out.slice(-3000)}`);
  });
} else {
  if (asRootWithCaps) {
    test('chaos: unreadable directories mean nothing as root with capabilities', (t) => {
      t.skip('setpriv cannot drop capabilities here; the run below reads everything');
    });
  }
  test(`chaos for ${SECONDS} s (seed ${SEED})`, { timeout: (SECONDS + 240) * 1000 }, chaos);
}

async function chaos(t: TestContext): Promise<void> {
  const rand = rng(SEED);
  const pick = <T>(xs: readonly T[]): T => xs[rand(xs.length)]!;
  const parent = scratchDir('fsmond-chaos-');
  const files: Record<string, string> = {};
  for (let i = 0; i < 60; i++) files[`d${i % 6}/s${i % 3}/f${i}`] = `${i}\n`;
  const wt = makeRepo({ parent, files });
  git(wt, ['config', 'gc.auto', '0']);
  const outside = path.join(parent, 'outside');
  fs.mkdirSync(outside);
  const gitDir = gitDirOf(wt);
  const sock = socketOf(wt);

  const count = {
    operations: 0,
    edits: 0,
    kills: 0,
    pauses: 0,
    unreadable: 0,
    overrides: 0,
    steals: 0,
    thieves: 0,
    multiStarts: 0,
    garbage: 0,
    flushes: 0,
    quits: 0,
    answersChecked: 0,
    exactAnswers: 0,
    wrong: 0,
    hung: 0,
    duplicateDaemons: 0,
  };
  const pids = new Set<number>();
  const failures: string[] = [];
  const recent: string[] = [];
  const note = (s: string) => {
    recent.push(`${Date.now() % 100_000} ${s}`);
    if (recent.length > 30) recent.shift();
  };
  const kids: DaemonProc[] = [];
  const clients = new Set<net.Socket>();
  const leftovers: string[] = [];
  const deadline = Date.now() + SECONDS * 1000;
  /** Both loops stop when either fails, so cleanup never races a loop still at work. */
  let stopped = false;
  const running = () => !stopped && Date.now() < deadline;
  const stopOnError = (p: Promise<void>) =>
    p.catch((err) => {
      stopped = true;
      throw err;
    });

  // ---- edits (between checks only) ----------------------------------------------------
  const rel = () => `d${rand(6)}/s${rand(3)}/f${rand(80)}`;
  const other = path.join(parent, 'other-worktree');
  /** An edit in A, or in B (`root`), which has no moves from and to outside. */
  const edit = (root = wt) => {
    const p = path.join(root, rel());
    try {
      switch (rand(9)) {
        case 0:
        case 1:
          fs.mkdirSync(path.dirname(p), { recursive: true });
          fs.writeFileSync(p, `${randomBytes(4).toString('hex')}\n`);
          break;
        case 2:
          fs.rmSync(p, { force: true });
          break;
        case 3:
          if (fs.existsSync(p)) fs.renameSync(p, path.join(root, rel()));
          break;
        case 4: {
          const d = path.join(root, `n${rand(4)}`, `m${rand(3)}`);
          fs.mkdirSync(d, { recursive: true });
          fs.writeFileSync(path.join(d, `g${rand(5)}`), 'new\n');
          break;
        }
        case 5: {
          const d = path.join(root, `d${rand(6)}`, `s${rand(3)}`);
          const out = path.join(outside, `o${rand(1e9)}`);
          if (root === wt && fs.existsSync(d)) fs.renameSync(d, out); // moved out of the worktree
          break;
        }
        case 6: {
          const ins = fs.readdirSync(outside);
          const d = path.join(root, `d${rand(6)}`, `s${rand(3)}`);
          if (root === wt && ins.length > 0 && !fs.existsSync(d)) {
            fs.mkdirSync(path.dirname(d), { recursive: true });
            fs.renameSync(path.join(outside, pick(ins)), d); // moved in
          }
          break;
        }
        case 7: {
          // Unreadable (0111 keeps tracked files inside reachable, 0000 does not), or readable.
          const d = path.join(root, `d${rand(6)}`, `s${rand(3)}`);
          const m = pick([0o000, 0o111, 0o755, 0o755]);
          if (fs.existsSync(d)) {
            fs.chmodSync(d, m);
            if (m !== 0o755) count.unreadable++;
            note(`chmod ${m.toString(8).padStart(4, '0')} ${path.relative(parent, d)}`);
          }
          break;
        }
        default:
          fs.rmSync(path.join(root, `n${rand(4)}`), { recursive: true, force: true });
      }
    } catch {
      // a race with our own earlier edit (ENOENT, ENOTEMPTY): fine, it is chaos
    }
    count.edits++;
  };

  // ---- the checked loop ---------------------------------------------------------------
  /** One status through the monitor against the oracle; false when either hung. */
  const check = (what: string, r: GitRun, o: GitRun): boolean => {
    if (r.hung || o.hung) {
      count.hung++;
      failures.push(`hung (${what}): ${r.hung ? 'git status' : 'oracle'}\n${recent.join('\n')}`);
      return false;
    }
    count.answersChecked++;
    // An unreadable tracked file can fail the oracle too; the monitor must fail alike.
    if (r.status !== o.status || r.stdout !== o.stdout) {
      count.wrong++;
      failures.push(
        `wrong answer (${what}; exit ${r.status}, oracle ${o.status}, ${r.stderr.trim()}):\n--- monitor\n${r.stdout}--- oracle\n${o.stdout}--- recent\n${recent.join('\n')}`,
      );
    }
    return true;
  };

  /** git on A's git dir with worktree B, which A's daemon does not watch. */
  const checkOverride = async () => {
    if (!fs.existsSync(other) || rand(3) === 0) {
      if (fs.existsSync(other)) readableAgain(other);
      fs.rmSync(other, { recursive: true, force: true });
      copyReadable(wt, other);
    }
    for (let i = rand(4); i > 0; i--) edit(other);
    const viaEnv = rand(2) === 0;
    const what = viaEnv ? 'cd B; GIT_DIR=A/.git git status' : 'git --work-tree=B status';
    const cwd = viaEnv ? other : wt;
    const pre = viaEnv ? [] : [`--work-tree=${other}`];
    const env = viaEnv ? { ...GIT_ENV, GIT_DIR: gitDir } : GIT_ENV;
    note(what);
    count.overrides++;
    const r = await gitGuarded(cwd, [...pre, ...STATUS], { env });
    check(what, r, await gitGuarded(cwd, [...pre, ...ORACLE], { env }));
  };

  const checker = async () => {
    while (running()) {
      if (rand(3) > 0) for (let i = 1 + rand(5); i > 0; i--) edit();
      if (rand(4) === 0) await checkOverride();
      const before = await statusAt(sock, 1500);
      const r = await gitGuarded(wt, STATUS);
      if (!check('git status', r, await gitGuarded(wt, ORACLE))) continue;
      const s = await statusAt(sock, 1500);
      if (s?.pid) pids.add(Number(s.pid));
      // Same daemon, one more answer, no more `/`: git got an exact list and it checked out.
      if (
        before &&
        s !== null &&
        s.pid === before.pid &&
        Number(s.answers) > Number(before.answers) &&
        s.trivialAnswers === before.trivialAnswers
      ) {
        count.exactAnswers++;
      }
    }
  };

  // ---- chaos --------------------------------------------------------------------------
  /** Stopped daemons, continued in any case when the test ends. */
  const paused = new Set<number>();
  /** A mute daemon: its socket accepts, nothing answers, for 0.3-2 s. */
  const mute = async () => {
    const s = await statusAt(sock, 1500);
    if (!s?.pid) return;
    const pid = Number(s.pid);
    try {
      process.kill(pid, 'SIGSTOP');
    } catch {
      return;
    }
    paused.add(pid);
    count.pauses++;
    note(`SIGSTOP ${pid}`);
    await sleep(300 + rand(1700));
    try {
      process.kill(pid, 'SIGCONT');
    } catch {
      // killed meanwhile
    }
    paused.delete(pid);
    note(`SIGCONT ${pid}`);
  };

  const kill9 = async () => {
    const s = await statusAt(sock, 1500);
    if (!s?.pid) return;
    note(`SIGKILL ${s.pid}`);
    try {
      process.kill(Number(s.pid), 'SIGKILL');
      count.kills++;
    } catch {
      // already gone
    }
  };

  const stealByRename = async () => {
    const to = path.join(gitDir, `stolen-${count.steals}.sock`);
    try {
      fs.renameSync(sock, to);
    } catch {
      return;
    }
    note('socket renamed away');
    count.steals++;
    leftovers.push(to);
  };

  const thief = async () => {
    try {
      fs.renameSync(sock, path.join(gitDir, `thief-moved-${count.thieves}.sock`));
      leftovers.push(path.join(gitDir, `thief-moved-${count.thieves}.sock`));
    } catch {
      // nothing there: the thief just takes the free path
    }
    const kind = pick(['silent', 'garbage', 'hangup'] as const);
    let server: Awaited<ReturnType<typeof listen>>;
    try {
      server = await listen(kind);
    } catch {
      return; // someone (a new daemon) took the path first
    }
    note(`thief (${kind}) on the socket`);
    count.thieves++;
    await sleep(300 + rand(1700));
    const ino = fs.lstatSync(sock, { throwIfNoEntry: false })?.ino;
    await closeServer(server);
    // libuv unlinks a closed server's path; make sure the thief leaves nothing behind.
    if (ino !== undefined && fs.lstatSync(sock, { throwIfNoEntry: false })?.ino === ino) {
      fs.rmSync(sock, { force: true });
    }
    note('thief gone');
  };

  const listen = async (kind: 'silent' | 'garbage' | 'hangup') => {
    const conns = new Set<net.Socket>();
    const server = net.createServer((c) => {
      conns.add(c);
      c.on('error', () => {});
      c.on('close', () => conns.delete(c));
      if (kind === 'hangup') c.destroy();
      if (kind === 'garbage') {
        // Never a well-formed answer: not hex, a packet cut short, or no NUL after the token.
        c.end(pick(['zzzz', '00ffbuiltin:x:1', '0008abcd0000']));
      }
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(sock, () => resolve());
    });
    return Object.assign(server, { conns });
  };

  const multiStart = async () => {
    const k = 2 + rand(4);
    note(`starting ${k} daemons at once`);
    count.multiStarts++;
    for (let i = 0; i < k; i++) kids.push(spawnDaemon(wt));
    // Each either exits (another serves) or serves; a loser of a theft exits within 2 s.
    try {
      await waitFor('at most one daemon for the worktree', () => daemonsFor(wt).length <= 1, {
        timeoutMs: 20_000,
      });
    } catch {
      count.duplicateDaemons++;
      failures.push(`two daemons: ${daemonsFor(wt).join(' ')}\n${recent.join('\n')}`);
    }
  };

  const garbage = () => {
    const kind = pick([
      'random',
      'half',
      'huge',
      'oversize',
      'nul',
      'ping',
      'slow',
      'early',
    ] as const);
    count.garbage++;
    const c = net.connect(sock);
    clients.add(c);
    c.on('error', () => {});
    c.on('close', () => clients.delete(c));
    setTimeout(() => c.destroy(), 7000).unref();
    c.on('connect', () => {
      switch (kind) {
        case 'random':
          c.write(randomBytes(1 + rand(3000)));
          break;
        case 'half':
          c.write('0010builti');
          break;
        case 'huge':
          c.write(`ffff${'x'.repeat(200)}`);
          break;
        case 'oversize':
          for (const b of encodeMessage(Buffer.alloc(80 * 1024, 'q'))) c.write(b);
          break;
        case 'nul':
          for (const b of encodeMessage(Buffer.from('builtin:\0x:1'))) c.write(b);
          break;
        case 'ping':
          c.end();
          break;
        case 'slow': {
          const bytes = Buffer.from('0015builtin:slow:1');
          let i = 0;
          const timer = setInterval(() => {
            if (i >= bytes.length || c.destroyed) return clearInterval(timer);
            c.write(bytes.subarray(i, ++i));
          }, 400);
          timer.unref();
          break;
        }
        default:
          for (const b of encodeMessage(Buffer.from('builtin:x:0'))) c.write(b);
          c.destroy();
      }
    });
  };

  const flushOrQuit = async () => {
    const what = pick(['flush', 'quit'] as const);
    count[what === 'flush' ? 'flushes' : 'quits']++;
    note(what);
    const c = net.connect(sock);
    c.on('error', () => {});
    c.on('connect', () => {
      for (const b of encodeMessage(Buffer.from(what))) c.write(b);
      c.end();
    });
    setTimeout(() => c.destroy(), 5000).unref();
  };

  const chaos = async () => {
    while (running()) {
      await sleep(50 + rand(400));
      count.operations++;
      const r = rand(100);
      if (r < 18) await kill9();
      else if (r < 28) await stealByRename();
      else if (r < 36) await thief();
      else if (r < 46) await multiStart();
      else if (r < 56) await mute();
      else if (r < 90) for (let i = 1 + rand(4); i > 0; i--) garbage();
      else await flushOrQuit();
    }
  };

  try {
    const loops = await Promise.allSettled([stopOnError(checker()), stopOnError(chaos())]);
    for (const l of loops) if (l.status === 'rejected') throw l.reason;
    // Calm again: the next command starts a daemon that must be exact.
    for (let i = 0; i < 3; i++) {
      edit();
      const r = await gitGuarded(wt, STATUS);
      check('after the chaos', r, await gitGuarded(wt, ORACLE));
    }
  } finally {
    for (const pid of paused) if (alive(pid)) process.kill(pid, 'SIGCONT');
    for (const c of clients) c.destroy();
    await stopDaemon(wt).catch(() => {});
    for (const d of kids) await reap(d);
    for (const pid of daemonsFor(wt)) if (alive(pid)) process.kill(pid, 'SIGKILL');
    for (const f of leftovers) fs.rmSync(f, { force: true });
    const stats = {
      seed: SEED,
      seconds: SECONDS,
      ...count,
      restarts: Math.max(0, pids.size - 1),
      daemonStarts: (readLog(gitDir).match(/ listening on /g) ?? []).length,
    };
    t.diagnostic(`chaos: ${JSON.stringify(stats)}`);
    if (failures.length > 0) t.diagnostic(failures.slice(0, 3).join('\n======\n'));
    readableAgain(parent);
    fs.rmSync(parent, { recursive: true, force: true, maxRetries: 5 });
  }
  assert.equal(count.wrong, 0, 'wrong status answers');
  assert.equal(count.hung, 0, 'hung git commands');
  assert.equal(count.duplicateDaemons, 0, 'moments with two daemons for one worktree');
  assert.ok(count.answersChecked > 0);
}
