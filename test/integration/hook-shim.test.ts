/**
 * The hook shims (hooks/bin/fsmond-hook in C, hooks/fsmond-hook.cjs in Node) against a
 * running stand-in daemon: versions, exact bytes, pkt-line framing both ways, git dir
 * layouts, long socket paths, and every malformed answer. Real processes and sockets.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, it } from 'node:test';
import * as gitHelpers from '../helpers/git.js';
import type { FixtureConfig } from '../helpers/hook-fixture-daemon.js';
import {
  type Launcher,
  type Layout,
  makeLayoutRepo,
  pkt,
  type Repo,
  requests,
  runShim as run,
  type ShimResult,
  SOCK_NAME,
  shimEnv,
  shims,
  startFixtureDaemon,
  UNAVAILABLE,
} from '../helpers/hook-harness.js';
import { HookScratch } from '../helpers/hook-scratch.js';
import { sleep, waitFor } from '../helpers/wait.js';

const T = { timeout: 120_000 };

function assertClean(r: ShimResult): void {
  assert.equal(r.signal, null, 'shim killed (hang guard)');
  assert.equal(r.status, 0);
  assert.equal(r.stderr, '');
}

/** The 12-byte header of a version-2 index with `entries` entries (all the shims read). */
function indexHeader(entries: number): Buffer {
  const b = Buffer.alloc(12);
  b.write('DIRC', 0, 'latin1');
  b.writeUInt32BE(2, 4);
  b.writeUInt32BE(entries, 8);
  return b;
}

function assertUnavailable(r: ShimResult): void {
  assertClean(r);
  assert.match(r.text, UNAVAILABLE);
  assert.ok(r.text.startsWith(`builtin:fsmond-unavailable.${r.pid}.`), r.text);
}

for (const shim of shims()) {
  describe(`hook shim, ${shim.name}: protocol against a running daemon`, {
    skip: shim.skip,
  }, () => {
    const scratch = new HookScratch(`shim-${shim.name}`);

    /** A fresh repo with a running stand-in. */
    async function setup(
      cfg: FixtureConfig = {},
      repoOpts: { layout?: Layout; deep?: boolean } = {},
    ): Promise<{ repo: Repo; launcher: Launcher; pid: number; shimEnv: NodeJS.ProcessEnv }> {
      const { repo, launcher } = scratch.repoWithLauncher(cfg, repoOpts);
      const pid = await startFixtureDaemon(repo, launcher);
      return {
        repo,
        launcher,
        pid,
        shimEnv: shimEnv(repo, { GIT_FSMOND_LAUNCHER: launcher.path }),
      };
    }

    it(
      'prints "/" for v1 and any version other than 2, without touching the daemon',
      T,
      async () => {
        const dir = scratch.dir();
        const repo = makeLayoutRepo(dir);
        const env = shimEnv(repo, { GIT_FSMOND_LAUNCHER: path.join(dir, 'missing') });
        for (const args of [['1', '1795309862544534335'], ['1', ''], ['3', 'x'], ['02', 'x'], []]) {
          const r = await run(shim, args, { cwd: repo.root, env });
          assertClean(r);
          assert.equal(r.text, '/', `args ${JSON.stringify(args)}`);
        }
        assert.equal(fs.existsSync(path.join(repo.gitdir, 'fsmond')), false);
      },
    );

    it('copies the answer byte for byte and sends the token exactly', T, async () => {
      const paths = ['a.txt', 'dir/b c.txt', 'caf\u00e9\u00ff', 'line\nbreak', 'x'.repeat(300)];
      const { repo, launcher, pid, shimEnv: env } = await setup({ paths });
      const body = paths.map((p) => `${p}\0`).join('');
      const r1 = await run(shim, ['2', '1795309862524068853'], { cwd: repo.root, env });
      assertClean(r1);
      assert.equal(r1.text, `builtin:fix.${pid}:1\0${body}`);
      const r2 = await run(shim, ['2', `builtin:fix.${pid}:1`], { cwd: repo.root, env });
      assertClean(r2);
      assert.equal(r2.text, `builtin:fix.${pid}:2\0${body}`);
      assert.deepEqual(
        requests(launcher).map((q) => [q.payload, q.packets]),
        [
          ['1795309862524068853', [19]],
          [`builtin:fix.${pid}:1`, [`builtin:fix.${pid}:1`.length]],
        ],
      );
    });

    it('concatenates an answer cut into many small packets', T, async () => {
      const paths = ['src/a.js', 'src/b/c.ts', 'd/'];
      const { repo, pid, shimEnv: env } = await setup({ paths, chunk: 3 });
      const r = await run(shim, ['2', 'tok'], { cwd: repo.root, env });
      assertClean(r);
      assert.equal(r.text, `builtin:fix.${pid}:1\0${paths.map((p) => `${p}\0`).join('')}`);
    });

    it('passes trivial and no-change answers through', T, async () => {
      const { repo, launcher, pid, shimEnv: env } = await setup({ trivial: true });
      const r1 = await run(shim, ['2', 'builtin:fake'], { cwd: repo.root, env });
      assertClean(r1);
      assert.equal(r1.text, `builtin:fix.${pid}:1\0/\0`);
      launcher.configure({ paths: [] });
      const r2 = await run(shim, ['2', `builtin:fix.${pid}:1`], { cwd: repo.root, env });
      assertClean(r2);
      assert.equal(r2.text, `builtin:fix.${pid}:2\0`);
    });

    it(
      'a small repository gets / at once, the daemon unasked, until its index grows',
      T,
      async () => {
        const { repo, launcher, pid, shimEnv: env } = await setup({ paths: [] });
        fs.mkdirSync(path.join(repo.gitdir, 'fsmond'), { recursive: true });
        const marker = path.join(repo.gitdir, 'fsmond', 'small-repo');
        const index = path.join(repo.gitdir, 'index');
        const withEntries = (n: number) => fs.writeFileSync(index, indexHeader(n));
        const ask = (extra: NodeJS.ProcessEnv = {}) =>
          run(shim, ['2', 'tok'], { cwd: repo.root, env: { ...env, ...extra } });
        fs.writeFileSync(marker, '3\n');
        withEntries(2);
        assertUnavailable(await ask());
        assert.equal(requests(launcher).length, 0, 'the daemon was asked');
        // Each of these makes the shim ask: one more request every time.
        const asked: Array<[string, () => void, NodeJS.ProcessEnv?]> = [
          ['the index grew to the limit', () => withEntries(3)],
          ['another index file', () => withEntries(2), { GIT_INDEX_FILE: index }],
          ['no index', () => fs.rmSync(index)],
          ['not an index', () => fs.writeFileSync(index, 'DIRX\0\0\0\x02\0\0\0\x01')],
          [
            'limit 0',
            () => {
              withEntries(1);
              fs.writeFileSync(marker, '0\n');
            },
          ],
          ['no number', () => fs.writeFileSync(marker, 'small\n')],
          ['no marker', () => fs.rmSync(marker)],
          // Nothing writes to these FIFOs: a shim that opened either blocking would hang.
          [
            'the index is a FIFO',
            () => {
              fs.writeFileSync(marker, '3\n');
              fs.rmSync(index, { force: true });
              execFileSync('mkfifo', [index]);
            },
          ],
          [
            'the marker is a FIFO',
            () => {
              fs.rmSync(marker);
              execFileSync('mkfifo', [marker]);
            },
          ],
        ];
        for (const [i, [why, arrange, extra]] of asked.entries()) {
          arrange();
          const r = await ask(extra);
          assertClean(r);
          assert.equal(r.text, `builtin:fix.${pid}:${i + 1}\0`, why);
          assert.equal(requests(launcher).length, i + 1, why);
        }
      },
    );

    it('copies a multi-megabyte answer whole', T, async () => {
      const paths = Array.from({ length: 200_000 }, (_, i) => `dir${i % 97}/file-${i}.txt`);
      const { repo, pid, shimEnv: env } = await setup({ paths });
      // Building 4 MB takes the stand-in more than the 900 ms first-byte limit on a loaded
      // machine; the limit has its own tests, this one is about copying.
      const patient = { ...env, GIT_FSMOND_HOOK_TIMEOUT_MS: '20000' };
      const r = await run(shim, ['2', 'tok'], { cwd: repo.root, env: patient });
      assertClean(r);
      const expected = `builtin:fix.${pid}:1\0${paths.map((p) => `${p}\0`).join('')}`;
      assert.ok(r.stdout.length > 4_000_000, `only ${r.stdout.length} bytes`);
      assert.equal(r.stdout.length, expected.length);
      assert.ok(r.text === expected, 'answer differs');
    });

    it(
      'frames the request: empty token = flush only, long tokens split at 65516 bytes',
      T,
      async () => {
        const { repo, launcher, shimEnv: env } = await setup({ paths: [] });
        const exact = 't'.repeat(65516);
        const long = 'L'.repeat(100_000);
        for (const tok of ['', exact, long]) {
          assertClean(await run(shim, ['2', tok], { cwd: repo.root, env }));
        }
        assert.deepEqual(
          requests(launcher).map((q) => [q.payload, q.packets]),
          [
            ['', []],
            [exact, [65516]],
            [long, [65516, 100_000 - 65516]],
          ],
        );
      },
    );

    const layouts: { name: string; layout: Layout; deep?: boolean }[] = [
      { name: 'GIT_DIR (absolute)', layout: 'gitdir-env-abs' },
      { name: 'GIT_DIR (relative to the worktree)', layout: 'gitdir-env-rel' },
      { name: '.git file, absolute gitdir', layout: 'gitfile-abs' },
      { name: '.git file, relative gitdir with CRLF', layout: 'gitfile-rel' },
      { name: '.git directory, path over 107 bytes', layout: 'dotgit', deep: true },
      { name: '.git file to a git dir over 107 bytes', layout: 'gitfile-rel', deep: true },
      { name: 'GIT_DIR over 107 bytes', layout: 'gitdir-env-abs', deep: true },
    ];
    for (const l of layouts) {
      it(`finds the socket via ${l.name}`, T, async () => {
        const { repo, launcher, pid, shimEnv: env } = await setup({ paths: ['p'] }, l);
        const sock = path.join(repo.gitdir, SOCK_NAME);
        assert.ok(fs.statSync(sock).isSocket(), `no socket at ${sock}`);
        if (l.deep) assert.ok(Buffer.byteLength(sock) > 107, `${sock} is short`);
        const r = await run(shim, ['2', 'tok'], { cwd: repo.root, env });
        assertClean(r);
        assert.equal(r.text, `builtin:fix.${pid}:1\0p\0`);
        assert.equal(requests(launcher).length, 1);
        // The daemon judges a query by the querier's cwd: the shim must be back where git
        // started it, not in the git dir it connected from.
        assert.equal(requests(launcher)[0]?.cwd, fs.realpathSync(repo.root));
        // Nothing landed at a truncated path next to the git dir or in the worktree
        // (docs/linux-watching.md#t12).
        assert.deepEqual(
          fs.readdirSync(repo.root).filter((f) => f !== '.git'),
          [],
        );
      });
    }

    it('prints the unavailable answer when there is no git dir', T, async () => {
      const dir = scratch.dir();
      const env = shimEnv(
        { root: dir, gitdir: '', env: {} },
        { GIT_FSMOND_LAUNCHER: path.join(dir, 'x') },
      );
      assertUnavailable(await run(shim, ['2', 'tok'], { cwd: dir, env }));
      fs.writeFileSync(path.join(dir, '.git'), 'not a gitdir line\n');
      assertUnavailable(await run(shim, ['2', 'tok'], { cwd: dir, env }));
    });

    const bad: [string, Buffer][] = [
      ['not hex', Buffer.from('zz10builtin:x:1\0/\x000000')],
      ['a delim packet (0001)', Buffer.concat([pkt('tok\0'), Buffer.from('0001')])],
      ['a response-end packet (0002)', Buffer.concat([pkt('tok\0'), Buffer.from('00020000')])],
      ['packet length 0003', Buffer.from('0003')],
      ['an empty data packet (0004)', Buffer.concat([pkt('tok\0'), Buffer.from('00040000')])],
      ['a packet over 65520 bytes', Buffer.concat([Buffer.from('fff5'), Buffer.alloc(65521, 97)])],
      ['no NUL in the payload', Buffer.concat([pkt('builtin:x:1'), Buffer.from('0000')])],
      ['an empty token', Buffer.concat([pkt('\0/\0'), Buffer.from('0000')])],
      ['only a flush', Buffer.from('0000')],
      ['EOF before the flush', pkt('builtin:x:1\0/\0')],
      ['EOF inside a packet', Buffer.from('0010builtin')],
      ['EOF inside a header', Buffer.concat([pkt('builtin:x:1\0'), Buffer.from('00')])],
      ['nothing at all', Buffer.alloc(0)],
    ];

    it('prints the unavailable answer, never a partial one, for malformed answers', T, async () => {
      const { repo, launcher, shimEnv: env } = await setup();
      for (const [what, raw] of bad) {
        launcher.configure({ mode: 'raw', rawBase64: raw.toString('base64') });
        const r = await run(shim, ['2', 'builtin:x:0'], { cwd: repo.root, env });
        assert.doesNotThrow(() => assertUnavailable(r), `${what}: got ${JSON.stringify(r.text)}`);
      }
      launcher.configure({ mode: 'close-mid', paths: ['a', 'b/c'] });
      assertUnavailable(await run(shim, ['2', 'tok'], { cwd: repo.root, env }));
      // The daemon is still fine afterwards.
      launcher.configure({ paths: ['ok'] });
      const r = await run(shim, ['2', 'tok'], { cwd: repo.root, env });
      assertClean(r);
      assert.match(r.text, /^builtin:fix\.\d+:\d+\0ok\0$/);
    });

    it('gives up on a daemon that never answers (short test deadline)', T, async () => {
      const { repo, launcher, shimEnv: env } = await setup({ mode: 'silent' });
      const r = await run(shim, ['2', 'tok'], {
        cwd: repo.root,
        env: { ...env, GIT_FSMOND_HOOK_TIMEOUT_MS: '300' },
      });
      assertUnavailable(r);
      assert.equal(requests(launcher).length, 1);
    });

    it('finishes while its stdin stays open and unread (git passes its own stdin)', T, async () => {
      // runShim always hands the shim a pipe that is written to and never closed.
      const { repo, pid, shimEnv: env } = await setup({ paths: ['s'] });
      const r = await run(shim, ['2', 'tok'], { cwd: repo.root, env, hangMs: 20_000 });
      assertClean(r);
      assert.equal(r.text, `builtin:fix.${pid}:1\0s\0`);
    });

    describe('a daemon that accepts and does not answer (the real limits)', () => {
      /** A running stand-in, with the state dir the real daemon would have made. */
      async function muteSetup(cfg: FixtureConfig) {
        const ctx = await setup(cfg);
        fs.mkdirSync(path.join(ctx.repo.gitdir, 'fsmond'), { mode: 0o700 });
        delete ctx.shimEnv.GIT_FSMOND_HOOK_TIMEOUT_MS;
        const marker = path.join(ctx.repo.gitdir, 'fsmond', 'unresponsive');
        const shimRun = () => run(shim, ['2', 'tok'], { cwd: ctx.repo.root, env: ctx.shimEnv });
        return { ...ctx, marker, shimRun };
      }

      it('gives up, leaves the marker, then gives up at once while it exists', T, async () => {
        const { launcher, pid, marker, shimRun } = await muteSetup({ mode: 'silent' });
        assertUnavailable(await shimRun());
        const st = fs.lstatSync(marker);
        assert.ok(st.isFile());
        assert.equal(st.mode & 0o777, 0o600);
        // Now an answer 200 ms late: the marker means the shim no longer waits that long...
        launcher.configure({ paths: ['late'], delayMs: 200 });
        assertUnavailable(await shimRun());
        assert.ok(fs.existsSync(marker));
        // ...and once it is gone (the daemon removes it when it answers), it does again.
        fs.rmSync(marker);
        const r = await shimRun();
        assertClean(r);
        assert.match(r.text, new RegExp(`^builtin:fix\\.${pid}:\\d+\\0late\\0$`));
        assert.equal(fs.existsSync(marker), false);
      });

      it('takes a trickling answer whole: the first byte ends that wait', T, async () => {
        const paths = ['a', 'b', 'c', 'd', 'e'];
        // Seven writes 300 ms apart: the whole answer takes far longer than the first byte.
        const { pid, marker, shimRun } = await muteSetup({ paths, chunk: 2, packetDelayMs: 300 });
        const r = await shimRun();
        assertClean(r);
        assert.equal(r.text, `builtin:fix.${pid}:1\0a\0b\0c\0d\0e\0`);
        assert.equal(fs.existsSync(marker), false);
      });

      it('writes the marker only into a real fsmond directory', T, async () => {
        const { repo, marker, shimRun } = await muteSetup({ mode: 'silent' });
        const elsewhere = path.join(path.dirname(repo.root), 'elsewhere');
        fs.mkdirSync(elsewhere);
        fs.rmSync(path.dirname(marker), { recursive: true });
        fs.symlinkSync(elsewhere, path.dirname(marker));
        assertUnavailable(await shimRun());
        assert.deepEqual(fs.readdirSync(elsewhere), []);
      });

      it('waits for room in a full backlog only briefly while the marker exists', T, async () => {
        const { repo, pid, marker, shimRun } = await muteSetup({ paths: ['q'], backlog: 1 });
        const fillers: net.Socket[] = [];
        /** Stops the stand-in and queues connections until the kernel refuses one (EAGAIN). */
        const stopAndFill = async () => {
          process.kill(pid, 'SIGSTOP');
          await waitFor('the stand-in to stop', () =>
            /^\d+ \(.*\) T /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8')),
          );
          for (let i = 0; i < 50; i++) {
            const s = net.connect(path.join(repo.gitdir, SOCK_NAME));
            s.on('error', () => {});
            const ok = await new Promise<boolean>((resolve) => {
              s.once('connect', () => resolve(true));
              s.once('error', () => resolve(false));
            });
            if (!ok) return;
            fillers.push(s);
          }
          throw new Error('the backlog never filled');
        };
        /** Runs the shim and lets the stand-in go on after `ms`. */
        const runReleasedAfter = async (ms: number) => {
          const timer = setTimeout(() => process.kill(pid, 'SIGCONT'), ms);
          try {
            return await shimRun();
          } finally {
            clearTimeout(timer);
            process.kill(pid, 'SIGCONT');
          }
        };
        try {
          await stopAndFill();
          fs.writeFileSync(marker, '');
          // Room comes 1.5 s later: too late for a muted daemon.
          assertUnavailable(await runReleasedAfter(1500));
          fs.rmSync(marker);
          await sleep(100);
          await stopAndFill();
          // Without the marker the shim waits for it.
          const r = await runReleasedAfter(300);
          assertClean(r);
          assert.match(r.text, /^builtin:fix\.\d+:\d+\0q\0$/);
          // A backlog that stays full for the whole start budget marks the daemon.
          await stopAndFill();
          assertUnavailable(await runReleasedAfter(60_000));
          assert.ok(fs.existsSync(marker), 'no marker after a backlog that never moved');
        } finally {
          process.kill(pid, 'SIGCONT');
          for (const s of fillers) s.destroy();
        }
      });
    });
  });
}

/**
 * fsmond.smallRepoEntries end to end: the real daemon leaves the limit for the shims at
 * start, real git then gets `/` (and matches the oracle) without a query reaching the daemon,
 * and once `git add` takes the index to the limit the daemon is asked again and answers
 * incrementally.
 */
for (const [kind, shimPath] of [
  ['C', gitHelpers.C_SHIM],
  ['Node', gitHelpers.NODE_SHIM],
] as const) {
  const skip = fs.existsSync(shimPath) ? false : `no ${kind} shim at ${shimPath}`;
  it(`${kind} shim, real daemon: a small repository is rescanned by git until it grows`, {
    ...T,
    skip,
  }, async () => {
    const { git, daemonStatus, statusOracle, statusWithMonitor, stopDaemon } = gitHelpers;
    const wt = gitHelpers.makeRepo({ shim: shimPath }); // 3 files
    git(wt, ['config', 'fsmond.smallRepoEntries', '5']);
    try {
      await gitHelpers.startRealDaemon(wt);
      const marker = path.join(gitHelpers.gitDirOf(wt), 'fsmond', 'small-repo');
      assert.equal(fs.readFileSync(marker, 'utf8'), '5\n');
      const queries = (await daemonStatus(wt))?.queries;
      fs.writeFileSync(path.join(wt, 'new.txt'), 'new\n');
      fs.appendFileSync(path.join(wt, 'README.md'), 'more\n');
      assert.equal(statusWithMonitor(wt), statusOracle(wt));
      assert.equal(statusWithMonitor(wt), statusOracle(wt));
      assert.equal((await daemonStatus(wt))?.queries, queries, 'a small repository asked');

      fs.writeFileSync(path.join(wt, 'b.txt'), 'b\n');
      git(wt, ['add', 'new.txt', 'b.txt']); // 5 entries: at the limit
      statusWithMonitor(wt); // asks with the shim's token: `/` once, then a real token
      fs.appendFileSync(path.join(wt, 'src/a.txt'), 'edit\n');
      const before = await daemonStatus(wt);
      assert.equal(statusWithMonitor(wt), statusOracle(wt));
      const after = await daemonStatus(wt);
      assert.ok(before && after, 'the daemon answers');
      assert.ok(after.queries > (queries ?? 0), 'the grown repository never asked');
      assert.equal(after.trivialAnswers, before.trivialAnswers, 'the answer was incremental');
    } finally {
      await stopDaemon(wt);
    }
  });
}
