/**
 * Where no design keeps git's builtin daemon off the socket, `enable` stays in hook mode and
 * `doctor` and `status --json` say so and why (docs/ipc-mode.md). This covers machines without
 * a systemd user manager (containers, CI, this project's VMs); ipc-activation.test.ts covers
 * what that mode serves.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CliSandbox } from '../helpers/cli-sandbox.js';
import { findCompatGit } from '../helpers/compat-git.js';
import { stopDaemon } from '../helpers/git.js';

const managerState = (() => {
  try {
    return execFileSync('systemctl', ['--user', 'is-system-running'], { encoding: 'utf8' }).trim();
  } catch (err) {
    return String((err as { stdout?: string }).stdout ?? '').trim() || 'no systemctl';
  }
})();
const reachable = ['running', 'degraded', 'starting', 'initializing'].includes(managerState);
const skip = reachable
  ? `a systemd user manager is ${managerState} here; this file covers machines without one`
  : false;
const compat = findCompatGit();
const skip255 = skip || ('skip' in compat ? compat.skip : false);

interface Doctor {
  checks: Array<{ check: string; status: string; message: string }>;
}

describe('enable without a systemd user manager', { skip }, () => {
  let box: CliSandbox;
  /** A PATH whose git is 2.55: the CLI asks `git version` to decide. */
  let path255: Record<string, string> = {};
  before(() => {
    box = new CliSandbox();
    if ('skip' in compat) return;
    const bin = box.dir('git-2.55-bin');
    const tree = path.dirname(compat.bin);
    fs.writeFileSync(
      path.join(bin, 'git'),
      `#!/bin/sh\nGIT_EXEC_PATH='${tree}' exec '${compat.bin}' "$@"\n`,
      { mode: 0o755 },
    );
    path255 = { PATH: `${bin}${path.delimiter}${process.env.PATH}` };
  });
  after(() => box.cleanup());

  const local = (wt: string, key: string) =>
    box.git(wt, ['config', '--local', '--get', key]).trim();
  const modeCheck = async (wt: string, env: Record<string, string>) => {
    const doc = JSON.parse((await box.run(['doctor', '--json'], wt, env)).stdout) as Doctor;
    return doc.checks.find((c) => c.check === 'mode');
  };

  test('with git >= 2.55: hook mode, and enable, doctor and status say why', {
    skip: skip255,
  }, async () => {
    const wt = box.repo('no-manager');
    const r = await box.run(['enable'], wt, path255);
    assert.equal(r.code, 0, r.stderr);
    const why =
      /no systemd user manager is reachable \(systemctl --user: [^)]+\): without one, git would start its builtin daemon/;
    assert.match(r.stderr, new RegExp(`note: hook mode: ${why.source}`));
    const monitor = local(wt, 'core.fsmonitor');
    assert.ok(box.isHomeShim(monitor), `the shim, not true: ${monitor}`);
    assert.ok(
      r.lines.some((l) => /^started daemon \(pid \d+\)/.test(l)),
      r.stdout,
    );

    const mode = await modeCheck(wt, path255);
    assert.equal(mode?.status, 'ok');
    assert.match(mode!.message, new RegExp(`^hook: the hook shim: ${why.source}`));

    const status = JSON.parse((await box.run(['status', '--json'], wt, path255)).stdout);
    assert.equal(status.mode, 'hook');
    assert.match(status.modeReason, why);
    assert.equal(status.socketActivated, false);
    await stopDaemon(wt);
  });

  test('enable --hook: hook mode without a note', { skip: skip255 }, async () => {
    const wt = box.repo('forced');
    const r = await box.run(['enable', '--hook'], wt, path255);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /hook mode/);
    const monitor = local(wt, 'core.fsmonitor');
    assert.ok(box.isHomeShim(monitor), monitor);
    await stopDaemon(wt);
  });

  test('core.fsmonitor=true without our socket unit: doctor warns', { skip: skip255 }, async () => {
    const wt = box.repo('bare-ipc');
    box.git(wt, ['config', 'core.fsmonitor', 'true']);
    const mode = await modeCheck(wt, path255);
    assert.equal(mode?.status, 'warn');
    assert.match(mode!.message, /^ipc: .*git starts its builtin one/);
  });

  test('with the git on PATH, whatever it is: doctor names the mode', async () => {
    const wt = box.repo('any-git');
    assert.equal((await box.run(['enable'], wt)).code, 0);
    const mode = await modeCheck(wt, {});
    assert.equal(mode?.status, 'ok');
    assert.match(mode!.message, /^hook: the hook shim: \S/);
    await stopDaemon(wt);
  });
});
