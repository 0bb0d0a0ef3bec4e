/**
 * Real git (2.39 on the reference machine) with `core.fsmonitor=<shim>` and
 * `core.fsmonitorHookVersion=2` against the stand-in daemon: git accepts the shim's output,
 * stores and sends back its tokens, trusts its path lists, and rescans on the unavailable
 * answer.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type ChildOutput, outputOf } from '../helpers/child-output.js';
import {
  killDaemons,
  type Launcher,
  makeLayoutRepo,
  requests,
  type Shim,
  shimEnv,
  shims,
  starts,
  writeLauncher,
} from '../helpers/hook-harness.js';
import { scratchDir } from '../helpers/scratch.js';

function git(
  shim: Shim,
  cwd: string,
  env: NodeJS.ProcessEnv,
  args: string[],
): Promise<ChildOutput> {
  const config = ['-c', `core.fsmonitor=${shim.path}`, '-c', 'core.fsmonitorHookVersion=2'];
  const child = spawn('git', [...config, ...args], {
    cwd,
    env: { ...env, GIT_TRACE_FSMONITOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 60_000,
    killSignal: 'SIGKILL',
  });
  return outputOf(child);
}

for (const shim of shims()) {
  describe(`hook shim, ${shim.name}: real git status`, { skip: shim.skip }, () => {
    let base = '';
    let launcher: Launcher | undefined;

    before(() => {
      base = scratchDir(`fsmond-git-${shim.name}-`);
    });
    after(() => {
      if (launcher) killDaemons(launcher);
    });

    it('git applies the answers and rescans on the unavailable one', {
      timeout: 120_000,
    }, async () => {
      const repo = makeLayoutRepo(base, { git: true });
      const l = writeLauncher(base, { paths: [] });
      launcher = l;
      const env = shimEnv(repo, {
        GIT_FSMOND_LAUNCHER: l.path,
        GIT_FSMOND_HOOK_TIMEOUT_MS: '20000', // generous start budget on a loaded machine
        HOME: base,
        GIT_CONFIG_NOSYSTEM: '1',
        GIT_AUTHOR_NAME: 't',
        GIT_AUTHOR_EMAIL: 't@example.com',
        GIT_COMMITTER_NAME: 't',
        GIT_COMMITTER_EMAIL: 't@example.com',
      });
      fs.writeFileSync(path.join(repo.root, 'a.txt'), 'one\n');
      for (const args of [
        ['add', 'a.txt'],
        ['commit', '-qm', 'one'],
      ]) {
        const r = spawnSync('git', args, { cwd: repo.root, env, encoding: 'utf8' });
        assert.equal(r.status, 0, r.stderr);
      }

      // First status: the shim starts the stand-in; git stores the stand-in's token.
      const s1 = await git(shim, repo.root, env, ['status', '--porcelain']);
      assert.equal(s1.code, 0, s1.stderr);
      const pid = starts(l).find((s) => s.event === 'listening')?.pid;
      assert.ok(pid, 'the stand-in never listened');
      assert.ok(s1.stderr.includes(`fsmonitor process '${shim.path}' returned success`), s1.stderr);
      assert.ok(
        s1.stderr.includes(`write fsmonitor extension successful 'builtin:fix.${pid}:1'`),
        s1.stderr,
      );
      assert.equal(s1.stdout, '');

      // Second status sends that token back.
      const s2 = await git(shim, repo.root, env, ['status', '--porcelain']);
      assert.equal(s2.code, 0, s2.stderr);
      assert.equal(requests(l)[1]?.payload, `builtin:fix.${pid}:1`);

      // git trusts the answer: a change the daemon does not report is not looked at...
      fs.writeFileSync(path.join(repo.root, 'a.txt'), 'two, longer\n');
      const s3 = await git(shim, repo.root, env, ['status', '--porcelain']);
      assert.equal(s3.stdout, '', 'git looked at a path the daemon did not report');
      // ...and a reported one is.
      l.configure({ paths: ['a.txt'] });
      const s4 = await git(shim, repo.root, env, ['status', '--porcelain']);
      assert.equal(s4.stdout, ' M a.txt\n');
      assert.ok(s4.stderr.includes("fsmonitor_refresh_callback 'a.txt'"), s4.stderr);

      // The unavailable answer makes git rescan everything: slow, never wrong.
      fs.writeFileSync(path.join(repo.root, 'b.txt'), 'new\n');
      l.configure({ mode: 'raw', rawBase64: Buffer.from('garbage').toString('base64') });
      const events = path.join(base, 'trace2.json');
      const s5 = await git(shim, repo.root, { ...env, GIT_TRACE2_EVENT: events }, [
        'status',
        '--porcelain',
      ]);
      assert.equal(s5.code, 0, s5.stderr);
      assert.equal(s5.stdout, ' M a.txt\n?? b.txt\n');
      assert.ok(s5.stderr.includes(`fsmonitor process '${shim.path}' returned success`));
      const data = fs
        .readFileSync(events, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { event: string; key?: string; value?: string })
        .filter((e) => e.event === 'data' && e.key?.startsWith('query/'));
      // git took the shim's output as a trivial ("rescan everything") answer, not a failure.
      assert.deepEqual(
        data.map((e) => e.key),
        ['query/response-length', 'query/trivial-response'],
      );
      assert.ok(!s5.stderr.includes('warning'), s5.stderr);
    });
  });
}
