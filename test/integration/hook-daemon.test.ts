/**
 * Both shims with real git and the real daemon where the daemon misbehaves: stopped with
 * SIGSTOP (mute), refusing before it listens, and what the daemon's own git calls inherit from
 * the shim that started it. Unlike the other tests these use the shims' real limits where the
 * limits are the point.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import {
  C_SHIM,
  daemonStatus,
  GIT_ENV,
  gitDirOf,
  LAUNCHER,
  makeRepo,
  NODE_SHIM,
  startRealDaemon,
  statusOracle,
  stopDaemon,
} from '../helpers/git.js';
import { gitGuarded } from '../helpers/lifecycle-util.js';
import { scratchDir } from '../helpers/scratch.js';
import { waitFor } from '../helpers/wait.js';

const STATUS = ['status', '--porcelain=v2', '--untracked-files=all'];
/** A start budget above gitGuarded's 30 s hang guard: waiting it out shows up as a hang. */
const PATIENT = '60000';

/** git status must be exactly what a full scan says, and must not hang. */
async function statusRight(wt: string, env: NodeJS.ProcessEnv, what: string): Promise<void> {
  const r = await gitGuarded(wt, STATUS, { env });
  assert.equal(r.hung, false, `${what}: git status hung`);
  assert.equal(r.status, 0, `${what}: ${r.stderr}`);
  assert.equal(r.stderr, '', what);
  assert.equal(r.stdout, statusOracle(wt), what);
}

/** A launcher that counts its starts, then runs the real daemon with `env` in front. */
function launcherWith(dir: string, env: string): { path: string; starts: () => number } {
  const file = path.join(dir, 'launcher');
  const count = path.join(dir, 'starts');
  fs.writeFileSync(
    file,
    `#!/bin/sh\necho x >> '${count}'\n${env} exec '${process.execPath}' '${LAUNCHER}' "$@"\n`,
    { mode: 0o755 },
  );
  const starts = () => (fs.existsSync(count) ? fs.readFileSync(count, 'utf8').length / 2 : 0);
  return { path: file, starts };
}

for (const [kind, shim] of [
  ['C', C_SHIM],
  ['Node', NODE_SHIM],
] as const) {
  describe(`the ${kind} shim with a real daemon that misbehaves`, {
    skip: !fs.existsSync(shim),
  }, () => {
    test('stopped: / and the marker; SIGCONT: the daemon clears it, answers are incremental again', async () => {
      const wt = makeRepo({ shim });
      const env: NodeJS.ProcessEnv = { ...GIT_ENV };
      delete env.GIT_FSMOND_HOOK_TIMEOUT_MS; // the real first-byte limit is the point here
      const marker = path.join(gitDirOf(wt), 'fsmond', 'unresponsive');
      const d = await startRealDaemon(wt);
      try {
        await statusRight(wt, env, 'warm');
        d.kill('SIGSTOP');
        fs.appendFileSync(path.join(wt, 'src/a.txt'), 'edited while stopped\n');
        await statusRight(wt, env, 'first command while stopped');
        assert.ok(fs.existsSync(marker), 'no marker after a mute daemon');
        fs.writeFileSync(path.join(wt, 'new.txt'), 'new\n');
        await statusRight(wt, env, 'second command while stopped');
        assert.ok(fs.existsSync(marker));
        d.kill('SIGCONT');
        // The requests queued while it was stopped are enough: their shims are long gone.
        await waitFor('the daemon to remove the marker', () => !fs.existsSync(marker));
        // git stored the never-valid token, so this one is a correct `/`...
        await statusRight(wt, env, 'first command after SIGCONT');
        const before = (await daemonStatus(wt))!;
        fs.appendFileSync(path.join(wt, 'src/deep/b.txt'), 'edited after\n');
        await statusRight(wt, env, 'second command after SIGCONT');
        const after = (await daemonStatus(wt))!;
        // ...and from here on the answers are incremental again.
        assert.equal(after.answers, before.answers + 1);
        assert.equal(after.trivialAnswers, before.trivialAnswers, 'the answer was /');
      } finally {
        d.kill('SIGCONT');
        await stopDaemon(wt);
      }
    });

    test('refusing before it listens (no git on its PATH): / at once, recorded, not started again', async () => {
      const wt = makeRepo({ shim });
      const launcher = launcherWith(scratchDir(), 'PATH=/nonexistent');
      const env = {
        ...GIT_ENV,
        GIT_FSMOND_LAUNCHER: launcher.path,
        GIT_FSMOND_HOOK_TIMEOUT_MS: PATIENT,
      };
      await statusRight(wt, env, 'refused start');
      assert.equal(launcher.starts(), 1);
      // The daemon records only lasting refusals; this one the waiting shim recorded.
      const refused = path.join(gitDirOf(wt), 'fsmond', 'refused');
      assert.equal(fs.readFileSync(refused, 'utf8'), 'git is not installed\n');
      await statusRight(wt, env, 'while the refusal is fresh');
      assert.equal(launcher.starts(), 1, 'started again while the refusal is fresh');
    });

    test('a worktree path that is not UTF-8: recorded by the shim, not started again', () => {
      // Node takes argv and paths as UTF-8, so the daemon cannot even find such a worktree.
      const parent = scratchDir();
      const root = Buffer.concat([Buffer.from(`${parent}/repo-`), Buffer.from([0xff])]);
      fs.mkdirSync(root);
      const launcher = launcherWith(scratchDir(), '');
      const env = { ...GIT_ENV, P: parent, GIT_FSMOND_LAUNCHER: launcher.path };
      const inRoot = (cmd: string) =>
        execFileSync('sh', ['-c', `cd "$(printf '%s/repo-\\377' "$P")" && ${cmd}`], {
          env: { ...env, GIT_FSMOND_HOOK_TIMEOUT_MS: PATIENT },
          encoding: 'latin1',
        });
      inRoot(
        `git init -q && echo a > a && git add a && git commit -qm a && echo b > b && git config core.fsmonitor '${shim}' && git config core.fsmonitorHookVersion 2`,
      );
      const oracle = inRoot(`git -c core.fsmonitor=false ${STATUS.join(' ')}`);
      assert.equal(inRoot(`git ${STATUS.join(' ')}`), oracle);
      // The C shim starts the daemon, which refuses; the Node shim, which reads its directory
      // as UTF-8 too, cannot even find the git dir and answers / without starting anything.
      const starts = launcher.starts();
      assert.equal(starts, kind === 'C' ? 1 : 0);
      if (starts === 1) {
        const refused = Buffer.concat([root, Buffer.from('/.git/fsmond/refused')]);
        assert.notEqual(fs.readFileSync(refused, 'utf8').trim(), '', 'the shim recorded why');
      }
      assert.equal(inRoot(`git ${STATUS.join(' ')}`), oracle);
      assert.equal(launcher.starts(), starts, 'started again while the refusal is fresh');
    });

    test("the start pipe reaches neither the daemon's git calls nor their environment", async () => {
      const wt = makeRepo({ shim });
      const dir = scratchDir();
      const log = path.join(dir, 'git-calls');
      fs.mkdirSync(path.join(dir, 'bin'));
      fs.writeFileSync(
        path.join(dir, 'bin', 'git'),
        `#!/bin/sh\n{ readlink /proc/$$/fd/3 || echo none; } >> '${log}' 2>/dev/null\n` +
          `echo "\${GIT_FSMOND_START_FD:-unset}" >> '${log}'\nexec /usr/bin/git "$@"\n`,
        { mode: 0o755 },
      );
      const launcher = launcherWith(dir, `PATH='${path.join(dir, 'bin')}':"$PATH"`);
      const env = { ...GIT_ENV, GIT_FSMOND_LAUNCHER: launcher.path };
      try {
        await statusRight(wt, env, 'cold start');
        await waitFor('watching', async () => (await daemonStatus(wt))?.watching === true);
        const lines = fs.readFileSync(log, 'utf8').trim().split('\n');
        assert.ok(lines.length >= 2, 'the daemon ran no git through the wrapper');
        for (let i = 0; i < lines.length; i += 2) {
          assert.deepEqual(lines.slice(i, i + 2), ['none', 'unset'], lines.join('\n'));
        }
      } finally {
        await stopDaemon(wt);
      }
    });
  });
}
