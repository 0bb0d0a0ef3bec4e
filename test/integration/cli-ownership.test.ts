/**
 * Two users, one repository: a daemon never runs as someone who does not own the git dir (it
 * would leave files its owner cannot use), and when another user (root, after `sudo git ...`)
 * left the state dir or spawn lock behind, `status`, `doctor` and `start` say so and how to fix
 * it instead of promising a start that cannot happen. Needs root, to hand files to uid 65534.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { assertOneLineError, CliSandbox } from '../helpers/cli-sandbox.js';
import { LAUNCHER, socketOf } from '../helpers/git.js';
import { cannotRunAs } from '../helpers/lifecycle-ns.js';

const NOBODY = 65534;
const skip =
  process.geteuid?.() !== 0
    ? 'needs root: only root can give a repository to another uid'
    : !fs.existsSync('/usr/bin/setpriv') && !fs.existsSync('/bin/setpriv')
      ? 'needs setpriv (util-linux) to run as another uid'
      : false;

function chownR(p: string, uid: number): void {
  fs.lchownSync(p, uid, uid);
  if (fs.lstatSync(p).isDirectory()) {
    for (const e of fs.readdirSync(p)) chownR(path.join(p, e), uid);
  }
}

describe('a repository and its state dir of another user', { skip }, () => {
  const box = CliSandbox.forSuite();
  before(() => {
    // git itself refuses a repository of another user unless told it is safe.
    box.git(box.root, ['config', '--global', 'safe.directory', '*']);
  });

  const asNobody = (args: string[], cwd: string) => box.runAs(NOBODY, args, cwd);

  test("root in another user's repository: start and run refuse in one line, nothing is created", async () => {
    const wt = box.repo('theirs');
    chownR(wt, NOBODY);
    const gitDir = path.join(wt, '.git');
    const before = fs.readdirSync(gitDir).sort();
    const owner = new RegExp(`'${gitDir}' belongs to uid ${NOBODY} \\(nobody\\)`);
    assertOneLineError(await box.run(['start'], wt), 1, owner);
    assertOneLineError(await box.run(['run'], wt), 1, owner);
    assert.deepEqual(fs.readdirSync(gitDir).sort(), before, 'nothing created in the git dir');
    chownR(wt, 0); // back to root, for the test helpers' own git calls
    assert.ok(!fs.existsSync(socketOf(wt)));
  });

  test("root's state dir and spawn lock in your repository: status, doctor and start name them and the fix", async (t) => {
    const cannot = cannotRunAs(NOBODY, LAUNCHER);
    if (cannot) return t.skip(cannot);
    fs.chmodSync(box.root, 0o755); // uid 65534 must reach its repository
    const wt = box.repo('mine');
    chownR(wt, NOBODY);
    const stateDir = path.join(wt, '.git', 'fsmond');
    // What `sudo git status` with an older shim leaves behind.
    fs.mkdirSync(stateDir, { mode: 0o700 });
    fs.writeFileSync(path.join(stateDir, 'spawn.lock'), '', { mode: 0o600 });
    box.git(wt, ['config', 'core.fsmonitor', path.join(box.root, 'hooks/bin/fsmond-hook')]);

    const status = await asNobody(['status'], wt);
    assert.equal(status.code, 1, status.stderr);
    const blocked = `the daemon cannot start: '${stateDir}' belongs to uid 0 (root); fix: sudo rm -rf '${stateDir}' (a new one is made)`;
    assert.deepEqual(status.lines, [`not watching '${wt}': ${blocked}`]);

    const doctor = await asNobody(['doctor'], wt);
    assert.equal(doctor.code, 1);
    const line = doctor.lines.find((l) => l.includes(' daemon: '));
    assert.equal(
      line,
      `fail daemon: not running, and cannot start: '${stateDir}' belongs to uid 0 (root); fix: sudo rm -rf '${stateDir}' (a new one is made)`,
    );

    assertOneLineError(
      await asNobody(['start'], wt),
      1,
      /cannot start: .* belongs to uid 0 \(root\); fix: sudo rm -rf/,
    );
    assert.equal(fs.statSync(stateDir).uid, 0, 'left alone');
    assert.deepEqual(fs.readdirSync(stateDir), ['spawn.lock']);
    chownR(wt, 0);
  });
});
