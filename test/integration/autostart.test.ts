import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { socketState } from '../../src/ipc/index.js';
import { outputOf } from '../helpers/child-output.js';
import {
  C_SHIM,
  daemonStatus,
  GIT_ENV,
  git,
  gitDirOf,
  makeRepo,
  NODE_SHIM,
  socketOf,
  statusOracle,
  statusWithMonitor,
  stopDaemonAfter,
} from '../helpers/git.js';
import { waitFor } from '../helpers/wait.js';

const STATUS = ['status', '--porcelain=v2', '--untracked-files=all'];

/** git status as its own process, with stderr captured, so concurrent runs are real. */
async function gitStatusAsync(
  wt: string,
  env: NodeJS.ProcessEnv = GIT_ENV,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const { code, stdout, stderr } = await outputOf(spawn('git', STATUS, { cwd: wt, env }));
  return { code: code ?? -1, stdout, stderr };
}

function daemonLog(wt: string): string {
  try {
    return fs.readFileSync(path.join(gitDirOf(wt), 'fsmond', 'daemon.log'), 'utf8');
  } catch {
    return '';
  }
}

const shims = [
  ['C', C_SHIM],
  ['Node', NODE_SHIM],
] as const;

for (const [kind, shim] of shims) {
  describe(`automatic start through the ${kind} shim, with real git`, {
    skip: !fs.existsSync(shim),
  }, () => {
    test('cold start: the first git command starts the daemon and gets a correct answer', async (t) => {
      const wt = stopDaemonAfter(t, makeRepo({ shim }));
      assert.equal(await socketState(socketOf(wt)), 'not-found');
      fs.writeFileSync(path.join(wt, 'new.txt'), 'new\n');
      const first = await gitStatusAsync(wt);
      assert.equal(first.code, 0);
      assert.equal(first.stderr, '');
      assert.equal(first.stdout, statusOracle(wt));
      const s = await daemonStatus(wt);
      assert.ok(s, 'a daemon answers on the socket');
      await waitFor('watching', async () => (await daemonStatus(wt))?.watching === true);
      statusWithMonitor(wt);
      fs.appendFileSync(path.join(wt, 'src/a.txt'), 'edit\n');
      const before = (await daemonStatus(wt))!;
      assert.equal(statusWithMonitor(wt), statusOracle(wt));
      const after = (await daemonStatus(wt))!;
      assert.equal(after.trivialAnswers, before.trivialAnswers, 'the warm answer was incremental');
    });

    test('idle exit: no query for fsmond.idleTimeout ends the daemon; git starts it again', async (t) => {
      const wt = stopDaemonAfter(t, makeRepo({ shim }));
      git(wt, ['config', 'fsmond.idleTimeout', '2s']);
      assert.equal(statusWithMonitor(wt), statusOracle(wt));
      const first = (await daemonStatus(wt))!;
      // Status requests are not queries: asking them all along must not keep it alive.
      await waitFor('the idle exit', async () => (await daemonStatus(wt)) === null, {
        timeoutMs: 20_000,
      });
      assert.match(daemonLog(wt), /info: shutting down: no query for 2 s \(fsmond\.idleTimeout\)/);
      fs.writeFileSync(path.join(wt, 'after-idle.txt'), 'x\n');
      assert.equal(statusWithMonitor(wt), statusOracle(wt));
      const second = await daemonStatus(wt);
      assert.ok(second && second.pid !== first.pid, 'the next git command started a new daemon');
    });

    test('stale socket: a daemon killed with SIGKILL is replaced at once', async (t) => {
      const wt = stopDaemonAfter(t, makeRepo({ shim }));
      statusWithMonitor(wt);
      await waitFor('watching', async () => (await daemonStatus(wt))?.watching === true);
      const old = (await daemonStatus(wt))!;
      process.kill(old.pid, 'SIGKILL');
      await waitFor(
        'socket to be stale',
        async () => (await socketState(socketOf(wt))) === 'not-listening',
      );
      fs.rmSync(path.join(wt, 'src/a.txt'));
      const r = await gitStatusAsync(wt);
      assert.equal(r.code, 0);
      assert.equal(r.stderr, '');
      assert.equal(r.stdout, statusOracle(wt), 'the deletion is seen: no old token is trusted');
      const fresh = await daemonStatus(wt);
      assert.ok(fresh && fresh.pid !== old.pid, 'a new daemon serves');
    });

    test('eight git commands at once on a cold worktree start exactly one daemon', async (t) => {
      const wt = stopDaemonAfter(t, makeRepo({ shim }));
      fs.writeFileSync(path.join(wt, 'untracked'), 'u\n');
      const runs = await Promise.all(Array.from({ length: 8 }, () => gitStatusAsync(wt)));
      const oracle = statusOracle(wt);
      for (const r of runs) {
        assert.equal(r.code, 0);
        assert.equal(r.stderr, '');
        assert.equal(r.stdout, oracle);
      }
      await waitFor('watching', async () => (await daemonStatus(wt))?.watching === true);
      const log = daemonLog(wt);
      assert.equal(log.match(/listening on/g)?.length, 1, log);
      assert.doesNotMatch(log, /not starting/, 'no second daemon was even spawned');
    });

    test('a daemon that cannot start costs a full scan, never a wrong answer or an error', async () => {
      const wt = makeRepo({ shim });
      // The launcher never starts a daemon: a short spawn wait instead of the shim's idle 2 s.
      const env = {
        ...GIT_ENV,
        GIT_FSMOND_LAUNCHER: '/bin/false',
        GIT_FSMOND_HOOK_TIMEOUT_MS: '300',
      };
      fs.appendFileSync(path.join(wt, 'README.md'), 'edit\n');
      fs.writeFileSync(path.join(wt, 'untracked'), 'u\n');
      const r = await gitStatusAsync(wt, env);
      assert.equal(r.code, 0);
      assert.equal(r.stderr, '', 'git shows the user nothing');
      assert.equal(r.stdout, statusOracle(wt));
      assert.notEqual(await socketState(socketOf(wt)), 'listening');
      const again = await gitStatusAsync(wt, env);
      assert.equal(again.stdout, statusOracle(wt), 'the never-valid token is not trusted later');
    });
  });
}
