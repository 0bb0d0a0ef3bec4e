/** Refusals: not a repository, a bare repository, no daemon, no log. One line, exit 1. */
import assert from 'node:assert/strict';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { assertOneLineError, CliSandbox } from '../helpers/cli-sandbox.js';

/** Every command that needs a worktree, with valid arguments. */
const REPO_COMMANDS: string[][] = [
  ['enable'],
  ['disable'],
  ['start'],
  ['run'],
  ['stop'],
  ['status'],
  ['status', '--json'],
  ['query', '0'],
  ['flush'],
  ['log'],
  ['log', '-f'],
];

describe('cli refusals', () => {
  const box = CliSandbox.forSuite();
  let plain: string;
  let bare: string;
  let wt: string;
  before(() => {
    plain = box.dir('plain');
    bare = box.dir('bare.git');
    box.git(bare, ['init', '-q', '--bare']);
    wt = box.repo('wt');
  });

  for (const args of REPO_COMMANDS) {
    test(`${args.join(' ')} outside a repository`, async () => {
      const r = await box.run(args, plain);
      assertOneLineError(r, 1, /^git-fsmond: not a git repository: '.*plain'$/);
      assert.equal(r.stdout, '');
    });

    test(`${args.join(' ')} in a bare repository`, async () => {
      const r = await box.run(args, bare);
      assertOneLineError(r, 1, /^git-fsmond: bare repository '.*bare\.git' is incompatible/);
    });
  }

  test('-C names a directory that does not exist', async () => {
    const r = await box.run(['-C', path.join(plain, 'nope'), 'status'], plain);
    assertOneLineError(r, 1, /no such directory: '.*nope'/);
  });

  test('-C reaches a repository from outside it', async () => {
    const r = await box.run(['-C', wt, 'status'], plain);
    assert.equal(r.code, 1);
    assert.deepEqual(r.lines, [
      `not watching '${wt}': git-fsmond is not enabled here: run 'git fsmond enable'`,
    ]);
  });

  describe('no daemon running', () => {
    test('stop: nothing to stop is success, with a note (scripts stop unconditionally)', async () => {
      const r = await box.run(['stop'], wt);
      assert.equal(r.code, 0);
      assert.deepEqual(r.lines, []);
      assert.match(r.stderr, /^note: no daemon is running for '.*wt': nothing to stop\n$/);
    });

    test('query', async () => {
      assertOneLineError(await box.run(['query', '0'], wt), 1, /no daemon is running for '.*wt'$/);
    });

    test('flush', async () => {
      assertOneLineError(await box.run(['flush'], wt), 1, /no daemon is running for '.*wt'$/);
    });

    test('status says so on stdout and exits 1', async () => {
      const r = await box.run(['status'], wt);
      assert.equal(r.code, 1);
      assert.equal(r.stderr, '');
      assert.match(r.lines[0]!, /^not watching '.*wt': git-fsmond is not enabled here/);
    });

    test('status --json has every key, null', async () => {
      const r = await box.run(['status', '--json'], wt);
      assert.equal(r.code, 1);
      const doc = JSON.parse(r.stdout);
      assert.equal(doc.running, false);
      assert.equal(doc.watching, false);
      assert.equal(doc.worktree, wt);
      assert.equal(doc.shim, 'none');
      for (const k of ['pid', 'token', 'uptimeMs', 'watchedDirectories', 'events', 'queries']) {
        assert.equal(doc[k], null, k);
      }
      for (const k of ['lastAnswerMs', 'rssBytes', 'backend', 'lastError']) {
        assert.equal(doc[k], null, k);
      }
    });

    test('log when no daemon ever ran here', async () => {
      const r = await box.run(['log'], wt);
      assertOneLineError(
        r,
        1,
        /^git-fsmond: no daemon log at '.*daemon\.log': no daemon has run here yet$/,
      );
    });

    test('disable when not enabled: nothing to undo, exit 0', async () => {
      const r = await box.run(['disable'], wt);
      assert.equal(r.code, 0);
      assert.deepEqual(r.lines, ['not enabled in local config: nothing to undo']);
      assert.equal(r.stderr, '');
    });
  });

  test('git config itself failing (no HOME for the global config) is one line, exit 1', async () => {
    const r = await box.run(['list'], wt, { HOME: undefined, XDG_CONFIG_HOME: undefined });
    assertOneLineError(r, 1, /^git-fsmond: git config failed: \$HOME not set$/);
  });
});
