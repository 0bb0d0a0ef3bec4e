/**
 * The hook shims starting the daemon: cold start, stale socket left by a SIGKILL, eight shims
 * racing on a cold worktree (exactly one daemon), and launchers that fail.
 * The stand-in (test/helpers/hook-fixture-daemon.ts) logs every start to a file.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { FixtureConfig } from '../helpers/hook-fixture-daemon.js';
import {
  killDaemons,
  type Launcher,
  type Layout,
  makeLayoutRepo,
  type Repo,
  requests,
  runShim as run,
  type ShimResult,
  SOCK_NAME,
  shimEnv,
  shims,
  socketLive,
  startFixtureDaemon,
  starts,
  UNAVAILABLE,
  waitGone,
  writeLauncher,
  writeScript,
} from '../helpers/hook-harness.js';
import { HookScratch } from '../helpers/hook-scratch.js';
import { cannotRunAs } from '../helpers/lifecycle-ns.js';
import { waitFor } from '../helpers/wait.js';

const T = { timeout: 120_000 };
/** A generous start budget, so that a loaded 2-core machine cannot make these tests flaky. */
const SLOW_OK = { GIT_FSMOND_HOOK_TIMEOUT_MS: '20000' };
/** A start budget above the hang guard: a shim that waited it out would be reported as hung. */
const PATIENT = { GIT_FSMOND_HOOK_TIMEOUT_MS: '60000' };
const NOBODY = 65534;
/** Set in the shim's environment; the daemon must not get it (docs/linux-watching.md, trap T1). */
const CA = process.env.NODE_EXTRA_CA_CERTS || '/etc/ssl/certs/ca-certificates.crt';

function assertAnswerFrom(r: ShimResult, pid: number, body: string): void {
  assert.equal(r.signal, null, 'shim killed (hang guard)');
  assert.equal(r.status, 0);
  assert.equal(r.stderr, '');
  assert.match(r.text, new RegExp(`^builtin:fix\\.${pid}:\\d+\\0`));
  assert.equal(r.text.slice(r.text.indexOf('\0') + 1), body);
}

function assertUnavailable(r: ShimResult): void {
  assert.equal(r.signal, null, 'shim killed (hang guard)');
  assert.equal(r.status, 0);
  assert.equal(r.stderr, '');
  assert.match(r.text, UNAVAILABLE);
}

const listening = (l: Launcher) => starts(l).filter((s) => s.event === 'listening');

for (const shim of shims()) {
  describe(`hook shim, ${shim.name}: starting the daemon`, { skip: shim.skip }, () => {
    const scratch = new HookScratch(`spawn-${shim.name}`);

    function setup(
      cfg: FixtureConfig = {},
      repoOpts: { layout?: Layout; deep?: boolean } = {},
    ): { dir: string; repo: Repo; launcher: Launcher; env: NodeJS.ProcessEnv } {
      const { dir, repo, launcher } = scratch.repoWithLauncher(cfg, repoOpts);
      const env = shimEnv(repo, {
        GIT_FSMOND_LAUNCHER: launcher.path,
        NODE_EXTRA_CA_CERTS: CA,
        ...SLOW_OK,
      });
      return { dir, repo, launcher, env };
    }

    it(
      'cold start: starts `<launcher> daemon <root>` detached and answers from it',
      T,
      async () => {
        const { repo, launcher, env } = setup({ paths: ['a'] });
        const r = await run(shim, ['2', 'tok'], { cwd: repo.root, env });
        const [ev] = listening(launcher);
        assert.ok(ev, 'the stand-in never listened');
        assertAnswerFrom(r, ev.pid, 'a\0');
        const all = starts(launcher);
        assert.equal(all.length, 2, JSON.stringify(all)); // start + listening
        assert.deepEqual(ev.argv, ['daemon', fs.realpathSync(repo.root)]);
        assert.equal(ev.cwd, '/');
        assert.equal(ev.hasExtraCaCerts, false);
        assert.equal(ev.gitDirEnv, null);
        const log = path.join(fs.realpathSync(repo.gitdir), 'fsmond', 'daemon.log');
        assert.deepEqual(ev.stdio, ['/dev/null', log, log]);
        assert.equal(ev.startFd.env, '3');
        assert.match(ev.startFd.target, /^(pipe|socket):\[\d+\]$/);
        assert.equal(fs.statSync(log).mode & 0o777, 0o600);
        if (shim.name === 'C') {
          // The flock lives here (the Node shim locks an abstract socket instead).
          const st = fs.statSync(path.join(repo.gitdir, 'fsmond'));
          assert.equal(st.mode & 0o777, 0o700);
        }
        // The next query uses the running daemon.
        const r2 = await run(shim, ['2', 'tok2'], { cwd: repo.root, env });
        assertAnswerFrom(r2, ev.pid, 'a\0');
        assert.equal(listening(launcher).length, 1);
        assert.deepEqual(
          requests(launcher).map((q) => q.payload),
          ['tok', 'tok2'],
        );
      },
    );

    it('cold start with the default 2 s start budget', T, async () => {
      const { repo, launcher, env } = setup({ paths: [] });
      delete env.GIT_FSMOND_HOOK_TIMEOUT_MS;
      const r = await run(shim, ['2', 'tok'], { cwd: repo.root, env });
      const [ev] = listening(launcher);
      assert.ok(ev, 'the stand-in never listened');
      assertAnswerFrom(r, ev.pid, '');
    });

    it(
      'cold start with a relative GIT_DIR over 107 bytes: the daemon gets it absolute',
      T,
      async () => {
        const { repo, launcher, env } = setup(
          { paths: ['b'] },
          { layout: 'gitdir-env-rel', deep: true },
        );
        assert.ok(!path.isAbsolute(env.GIT_DIR ?? '/'));
        const r = await run(shim, ['2', 'tok'], { cwd: repo.root, env });
        const [ev] = listening(launcher);
        assert.ok(ev, 'the stand-in never listened');
        assertAnswerFrom(r, ev.pid, 'b\0');
        assert.equal(ev.gitDirEnv, fs.realpathSync(repo.gitdir));
        assert.ok(fs.statSync(path.join(repo.gitdir, SOCK_NAME)).isSocket());
      },
    );

    it('stale socket left by a SIGKILLed daemon: restarts at once', T, async () => {
      const { repo, launcher, env } = setup({ paths: ['c'] });
      const first = await startFixtureDaemon(repo, launcher);
      process.kill(first, 'SIGKILL');
      await waitGone(first);
      assert.ok(fs.statSync(path.join(repo.gitdir, SOCK_NAME)).isSocket(), 'socket file gone');
      assert.equal(await socketLive(repo), false);
      const r = await run(shim, ['2', 'tok'], { cwd: repo.root, env });
      const ls = listening(launcher);
      assert.equal(ls.length, 2);
      assert.notEqual(ls[1].pid, first);
      assertAnswerFrom(r, ls[1].pid, 'c\0');
    });

    it('eight shims at once on a cold worktree start exactly one daemon', T, async () => {
      // The stand-in waits before listening, so that every shim finds nothing there.
      const { repo, launcher, env } = setup({ paths: ['d'], startDelayMs: 300 });
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) => run(shim, ['2', `tok${i}`], { cwd: repo.root, env })),
      );
      const all = starts(launcher);
      assert.deepEqual(
        all.map((s) => s.event),
        ['start', 'listening'],
        `more than one daemon was started: ${JSON.stringify(all)}`,
      );
      for (const r of results) assertAnswerFrom(r, all[0].pid, 'd\0');
      assert.deepEqual(
        requests(launcher)
          .map((q) => q.payload)
          .sort(),
        Array.from({ length: 8 }, (_, i) => `tok${i}`),
      );
    });

    it('launcher missing or not executable: unavailable answer, exit 0', T, async () => {
      const { dir, repo, env } = setup();
      assertUnavailable(
        await run(shim, ['2', 'tok'], {
          cwd: repo.root,
          env: { ...env, GIT_FSMOND_LAUNCHER: path.join(dir, 'does-not-exist') },
        }),
      );
      const plain = path.join(dir, 'not-executable');
      fs.writeFileSync(plain, '#!/bin/sh\n', { mode: 0o644 });
      assertUnavailable(
        await run(shim, ['2', 'tok'], {
          cwd: repo.root,
          env: { ...env, GIT_FSMOND_LAUNCHER: plain },
        }),
      );
      assert.equal(fs.existsSync(path.join(repo.gitdir, SOCK_NAME)), false);
    });

    it('launcher that exits at once: unavailable answer, exit 0', T, async () => {
      const { dir, repo, env } = setup();
      const ran = path.join(dir, 'ran');
      const script = writeScript(dir, 'quitter', `echo "$@" > '${ran}'; exit 0`);
      const r = await run(shim, ['2', 'tok'], {
        cwd: repo.root,
        env: { ...env, GIT_FSMOND_LAUNCHER: script, GIT_FSMOND_HOOK_TIMEOUT_MS: '1500' },
      });
      assertUnavailable(r);
      await waitFor('the launcher to run', () => fs.existsSync(ran) || undefined);
      assert.equal(fs.readFileSync(ran, 'utf8'), `daemon ${fs.realpathSync(repo.root)}\n`);
    });

    it('a launcher that dies at once leaves its stderr in the daemon log', T, async () => {
      const { dir, repo, env } = setup();
      const script = writeScript(dir, 'crasher', 'echo "node: not found ($$)" >&2; exit 127');
      const r = await run(shim, ['2', 'tok'], {
        cwd: repo.root,
        env: { ...env, GIT_FSMOND_LAUNCHER: script, GIT_FSMOND_HOOK_TIMEOUT_MS: '1500' },
      });
      assertUnavailable(r);
      const log = path.join(repo.gitdir, 'fsmond', 'daemon.log');
      const text = await waitFor('the log line', () => {
        const t = fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '';
        return t.includes('node: not found') ? t : undefined;
      });
      assert.match(text, /^node: not found \(\d+\)\n$/);
    });

    it(
      'a planted fsmond symlink: / at once, nothing started or written through it',
      T,
      async () => {
        const { dir, repo, launcher, env } = setup();
        const elsewhere = path.join(dir, 'elsewhere');
        fs.mkdirSync(elsewhere);
        fs.symlinkSync(elsewhere, path.join(repo.gitdir, 'fsmond'));
        assertUnavailable(
          await run(shim, ['2', 'tok'], { cwd: repo.root, env: { ...env, ...PATIENT } }),
        );
        assert.deepEqual(starts(launcher), []);
        assert.deepEqual(fs.readdirSync(elsewhere), []);
      },
    );

    it('a daemon that refuses on the start pipe: / at once, its reason recorded', T, async () => {
      const { dir, repo, env } = setup();
      const count = path.join(dir, 'starts');
      const script = writeScript(
        dir,
        'refuser',
        `echo x >> '${count}'; echo 'no place for a daemon (test)' >&$GIT_FSMOND_START_FD; exit 1`,
      );
      const patient = { ...env, ...PATIENT, GIT_FSMOND_LAUNCHER: script };
      assertUnavailable(await run(shim, ['2', 'tok'], { cwd: repo.root, env: patient }));
      const refused = path.join(repo.gitdir, 'fsmond', 'refused');
      assert.equal(fs.readFileSync(refused, 'utf8'), 'no place for a daemon (test)\n');
      assert.equal(fs.statSync(refused).mode & 0o777, 0o600);
      assertUnavailable(await run(shim, ['2', 'tok'], { cwd: repo.root, env: patient }));
      assert.equal(fs.readFileSync(count, 'utf8'), 'x\n', 'started again while refused');
    });

    it('a daemon that dies before it listens, without a word: / at once, recorded', T, async () => {
      const { dir, repo, env } = setup();
      const count = path.join(dir, 'starts');
      const script = writeScript(dir, 'dier', `echo x >> '${count}'; exit 3`);
      const patient = { ...env, ...PATIENT, GIT_FSMOND_LAUNCHER: script };
      assertUnavailable(await run(shim, ['2', 'tok'], { cwd: repo.root, env: patient }));
      assert.match(
        fs.readFileSync(path.join(repo.gitdir, 'fsmond', 'refused'), 'utf8'),
        /^the daemon exited before it listened; see git fsmond log\n$/,
      );
      assertUnavailable(await run(shim, ['2', 'tok'], { cwd: repo.root, env: patient }));
      assert.equal(fs.readFileSync(count, 'utf8'), 'x\n', 'started again while refused');
    });

    it('`ok` on the start pipe is no refusal: the shim goes on to the socket', T, async () => {
      const { dir, repo, launcher, env } = setup({ paths: ['k'], startDelayMs: 300 });
      const script = writeScript(
        dir,
        'early-ok',
        `echo ok >&$GIT_FSMOND_START_FD; exec '${launcher.path}' "$@"`,
      );
      const r = await run(shim, ['2', 'tok'], {
        cwd: repo.root,
        env: { ...env, GIT_FSMOND_LAUNCHER: script },
      });
      const [ev] = listening(launcher);
      assert.ok(ev, 'the stand-in never listened');
      assertAnswerFrom(r, ev.pid, 'k\0');
      assert.equal(fs.existsSync(path.join(repo.gitdir, 'fsmond', 'refused')), false);
    });

    describe('repositories that are not ours (root runs the shim here)', {
      skip: process.getuid?.() === 0 ? false : 'needs root to give files to another user',
    }, () => {
      it('a git dir of another user: / at once, nothing created, nothing started', T, async () => {
        const { repo, launcher, env } = setup();
        fs.chownSync(repo.gitdir, NOBODY, NOBODY);
        assertUnavailable(
          await run(shim, ['2', 'tok'], { cwd: repo.root, env: { ...env, ...PATIENT } }),
        );
        assert.deepEqual(fs.readdirSync(repo.gitdir), []);
        assert.deepEqual(starts(launcher), []);
      });

      it("a daemon already serving another user's git dir is still asked", T, async () => {
        const { repo, launcher, env } = setup({ paths: ['served'] });
        const pid = await startFixtureDaemon(repo, launcher);
        fs.chownSync(repo.gitdir, NOBODY, NOBODY);
        assertAnswerFrom(await run(shim, ['2', 'tok'], { cwd: repo.root, env }), pid, 'served\0');
      });

      it('an fsmond of another user: / at once, nothing started or created there', T, async () => {
        const { repo, launcher, env } = setup();
        const state = path.join(repo.gitdir, 'fsmond');
        fs.mkdirSync(state, { mode: 0o700 });
        fs.chownSync(state, NOBODY, NOBODY);
        assertUnavailable(
          await run(shim, ['2', 'tok'], { cwd: repo.root, env: { ...env, ...PATIENT } }),
        );
        assert.deepEqual(fs.readdirSync(state), []);
        assert.deepEqual(starts(launcher), []);
      });

      it("root's spawn.lock left in a user's fsmond does not stop that user", T, async (t) => {
        const cannot = cannotRunAs(NOBODY, shim.path);
        if (cannot) {
          t.skip(cannot);
          return;
        }
        // Everything here must be reachable by the user, so not under the 0700 scratch dir.
        const top = fs.mkdtempSync(path.join(os.tmpdir(), 'fsmond-sudo-'));
        fs.chmodSync(top, 0o755);
        const launcher = writeLauncher(top, { paths: ['mine'] });
        try {
          const repo = makeLayoutRepo(top);
          const state = path.join(repo.gitdir, 'fsmond');
          fs.mkdirSync(state, { mode: 0o700 });
          spawnSync('chown', ['-R', `${NOBODY}:${NOBODY}`, top]);
          fs.writeFileSync(path.join(state, 'spawn.lock'), '', { mode: 0o600 }); // root's
          const asUser = writeScript(
            top,
            'as-user',
            `exec setpriv --reuid=${NOBODY} --regid=${NOBODY} --clear-groups '${shim.path}' "$@"`,
          );
          const r = await run({ ...shim, path: asUser }, ['2', 'tok'], {
            cwd: repo.root,
            env: shimEnv(repo, { GIT_FSMOND_LAUNCHER: launcher.path, ...SLOW_OK }),
          });
          const [ev] = listening(launcher);
          assert.ok(ev, `the stand-in never listened: ${r.text}`);
          assert.equal(ev.uid, NOBODY);
          assertAnswerFrom(r, ev.pid, 'mine\0');
          if (shim.name === 'C') {
            assert.equal(fs.statSync(path.join(state, 'spawn.lock')).uid, NOBODY);
          }
        } finally {
          killDaemons(launcher);
          fs.rmSync(top, { recursive: true, force: true });
        }
      });
    });

    it(
      'a daemon too slow to listen: unavailable now, answered later without a second start',
      T,
      async () => {
        const { repo, launcher, env } = setup({ paths: ['e'], startDelayMs: 1500 });
        const r = await run(shim, ['2', 'tok'], {
          cwd: repo.root,
          env: { ...env, GIT_FSMOND_HOOK_TIMEOUT_MS: '300' },
        });
        assertUnavailable(r);
        const ev = await waitFor('the slow stand-in to listen', () => listening(launcher)[0]);
        const r2 = await run(shim, ['2', 'tok'], { cwd: repo.root, env });
        assertAnswerFrom(r2, ev.pid, 'e\0');
        assert.equal(starts(launcher).filter((s) => s.event === 'start').length, 1);
      },
    );
  });
}
