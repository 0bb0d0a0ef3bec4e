/** `enable` and `disable`, locally and globally, against real repositories and daemons. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { describe, test } from 'node:test';
import { assertOneLineError, CliSandbox } from '../helpers/cli-sandbox.js';
import { daemonStatus, stopDaemon } from '../helpers/git.js';

describe('cli enable / disable', () => {
  const box = CliSandbox.forSuite();

  const local = (wt: string, key: string) => {
    try {
      return box.git(wt, ['config', '--local', '--get', key]).trim();
    } catch {
      return null;
    }
  };

  test('enable sets the three keys, records the worktree, starts the daemon', async () => {
    const wt = box.repo('fresh');
    const r = await box.run(['enable'], wt);
    assert.equal(r.code, 0, r.stderr);
    const fsmonitor = local(wt, 'core.fsmonitor')!;
    assert.ok(box.isHomeShim(fsmonitor), fsmonitor);
    assert.deepEqual(r.lines.slice(0, 5), [
      `set core.fsmonitor=${fsmonitor} in local config (was unset)`,
      'set core.fsmonitorHookVersion=2 in local config (was unset)',
      'set core.untrackedCache=true in local config (was unset)',
      `recorded '${wt}' in global fsmond.worktree`,
      box.shimLine(fsmonitor),
    ]);
    const s = await daemonStatus(wt);
    assert.ok(s?.watching, 'the daemon watches');
    assert.match(
      r.lines[5]!,
      new RegExp(`^started daemon \\(pid ${s!.pid}\\), watching \\d+ directories$`),
    );
    assert.equal(r.lines.length, 6);
    // Not a terminal: no carriage returns or escape sequences, whatever progress was shown.
    assert.doesNotMatch(r.stderr, /[\r\x1b]/);
    assert.ok(box.globalConfig().includes(`fsmond.worktree=${wt}`));
    assert.equal(local(wt, 'core.fsmonitorhookversion'), '2');
    assert.equal(local(wt, 'core.untrackedcache'), 'true');

    const status = await box.run(['status'], wt);
    assert.equal(status.code, 0);
    assert.equal(status.lines[0], `watching '${wt}'`);
    await stopDaemon(wt);
  });

  test('enable twice: the second run changes nothing and exits 0', async () => {
    const wt = box.repo('twice');
    assert.equal((await box.run(['enable'], wt)).code, 0);
    const pid = (await daemonStatus(wt))!.pid;
    const configBefore = box.git(wt, ['config', '--local', '--list']);
    const r = await box.run(['enable'], wt);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.lines, [
      'already enabled in local config',
      box.shimLine(local(wt, 'core.fsmonitor')!),
      `daemon already running (pid ${pid})`,
    ]);
    assert.equal(box.git(wt, ['config', '--local', '--list']), configBefore);
    const recorded = box.globalConfig().filter((l) => l === `fsmond.worktree=${wt}`);
    assert.equal(recorded.length, 1, 'recorded once');
    await stopDaemon(wt);
  });

  test('disable undoes what enable set, restores what it replaced, stops the daemon', async () => {
    const wt = box.repo('restore');
    box.git(wt, ['config', 'core.untrackedCache', 'false']);
    assert.equal((await box.run(['enable'], wt)).code, 0);
    const pid = (await daemonStatus(wt))!.pid;
    const r = await box.run(['disable'], wt);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.lines, [
      'unset core.fsmonitor in local config',
      'unset core.fsmonitorHookVersion in local config',
      'restored core.untrackedCache=false in local config',
      `removed '${wt}' from global fsmond.worktree`,
      `stopped daemon (pid ${pid})`,
    ]);
    assert.equal(r.stderr, '');
    assert.equal(await daemonStatus(wt), null);
    assert.equal(local(wt, 'core.fsmonitor'), null);
    assert.equal(local(wt, 'core.untrackedcache'), 'false');
    assert.equal(local(wt, 'fsmond.changed'), null, 'no bookkeeping left');
    assert.equal(local(wt, 'fsmond.saved-core-untrackedCache'), null);
    assert.ok(!box.globalConfig().includes(`fsmond.worktree=${wt}`));
  });

  test('disable leaves alone a core.fsmonitor the user changed after enable', async () => {
    const wt = box.repo('theirs');
    assert.equal((await box.run(['enable'], wt)).code, 0);
    box.git(wt, ['config', 'core.fsmonitor', '/usr/local/bin/their-hook']);
    const r = await box.run(['disable'], wt);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.lines[0],
      'left core.fsmonitor=/usr/local/bin/their-hook in local config alone: it was changed after enable',
    );
    assert.ok(r.lines.includes('unset core.fsmonitorHookVersion in local config'));
    assert.match(r.lines.at(-1)!, /^stopped daemon \(pid \d+\)$/);
    assert.equal(local(wt, 'core.fsmonitor'), '/usr/local/bin/their-hook');
    assert.equal(local(wt, 'core.fsmonitorhookversion'), null);
    // Forgotten too: a second disable has nothing left to do.
    const again = await box.run(['disable'], wt);
    assert.deepEqual(again.lines, ['not enabled in local config: nothing to undo']);
  });

  test('enable refuses a bare repository before touching any config', async () => {
    const bare = box.dir('refuse.git');
    box.git(bare, ['init', '-q', '--bare']);
    const before = box.git(bare, ['config', '--local', '--list']);
    assertOneLineError(await box.run(['enable'], bare), 1, /bare repository/);
    assert.equal(box.git(bare, ['config', '--local', '--list']), before);
    assert.ok(!box.globalConfig().some((l) => l.includes('refuse.git')), 'nothing recorded');
  });

  test('without a global config to record in, enable and disable still work, with a note', async () => {
    const wt = box.repo('homeless');
    const noHome = { HOME: undefined, XDG_CONFIG_HOME: undefined };
    // No global config: nothing lifts the small-repository limit but --force.
    const r = await box.run(['enable', '--force'], wt, noHome);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.lines.at(-1)!, /^started daemon/);
    assert.deepEqual(r.errLines, [
      "note: could not update fsmond.worktree in the global config (for 'list'): git config failed: $HOME not set",
    ]);
    const d = await box.run(['disable'], wt, noHome);
    assert.equal(d.code, 0, d.stderr);
    assert.match(d.lines.at(-1)!, /^stopped daemon/);
  });

  describe('--global', () => {
    test('enable --global outside any repository sets the global config only', async () => {
      const dir = box.dir('nowhere');
      const recorded = () => box.globalConfig().filter((l) => l.startsWith('fsmond.worktree='));
      const recordedBefore = recorded();
      const r = await box.run(['enable', '--global'], dir);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.lines.length, 4);
      assert.match(r.lines[0]!, /^set core\.fsmonitor=\S+ in global config \(was unset\)$/);
      assert.equal(r.lines[1], 'set core.fsmonitorHookVersion=2 in global config (was unset)');
      assert.equal(r.lines[2], 'set core.untrackedCache=true in global config (was unset)');
      const fsmonitor = box.git(dir, ['config', '--global', 'core.fsmonitor']).trim();
      assert.ok(box.isHomeShim(fsmonitor), fsmonitor);
      assert.equal(r.lines[3], box.shimLine(fsmonitor));
      assert.match(r.stderr, /^note: not inside a worktree/m);
      const global = box.globalConfig();
      assert.ok(global.includes('core.fsmonitorhookversion=2'));
      assert.ok(
        global.includes(
          'fsmond.changed=core.fsmonitor,core.fsmonitorHookVersion,core.untrackedCache',
        ),
      );
      assert.deepEqual(recorded(), recordedBefore, 'nothing recorded');

      const list = await box.run(['list'], dir);
      assert.equal(
        list.lines.at(-1),
        'enabled globally: every repository without its own core.fsmonitor uses git-fsmond',
      );

      const again = await box.run(['enable', '--global'], dir);
      assert.equal(again.code, 0);
      assert.deepEqual(again.lines, ['already enabled in global config', r.lines[3]]);

      const off = await box.run(['disable', '--global'], dir);
      assert.equal(off.code, 0, off.stderr);
      assert.deepEqual(off.lines, [
        'unset core.fsmonitor in global config',
        'unset core.fsmonitorHookVersion in global config',
        'unset core.untrackedCache in global config',
      ]);
      assert.deepEqual(
        box.globalConfig().filter((l) => !l.startsWith('fsmond.worktree=')),
        [],
        'nothing but the list of locally enabled worktrees is left',
      );
    });

    test('enable --global inside a worktree also starts its daemon; local disable notes the global one', async () => {
      const wt = box.repo('global-inside');
      const r = await box.run(['enable', '--global'], wt);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.lines.at(-1)!, /^started daemon \(pid \d+\), watching \d+ directories$/);
      assert.equal(local(wt, 'core.fsmonitor'), null, 'the local config is untouched');

      const d = await box.run(['disable'], wt);
      assert.equal(d.code, 0);
      assert.equal(d.lines[0], 'not enabled in local config: nothing to undo');
      assert.match(d.lines[1]!, /^stopped daemon \(pid \d+\)$/);
      assert.equal(
        d.stderr,
        "note: core.fsmonitor is still set in the global config, so git keeps using git-fsmond here: 'git fsmond disable --global'\n",
      );
      assert.equal((await box.run(['disable', '--global'], wt)).code, 0);
      assert.ok(!box.globalConfig().some((l) => l.startsWith('core.')));
    });
  });
});

describe('cli disable --all (before uninstalling)', () => {
  const box = CliSandbox.forSuite();

  test('undoes the global and every recorded local enable, stops every daemon, keeps the shims', async () => {
    const a = box.repo('a');
    const b = box.repo('b');
    for (const wt of [a, b]) assert.equal((await box.run(['enable'], wt)).code, 0);
    assert.equal((await box.run(['enable', '--global'], a)).code, 0);
    const pids = [(await daemonStatus(a))!.pid, (await daemonStatus(b))!.pid];
    const fsmonitor = box.git(a, ['config', '--local', 'core.fsmonitor']).trim();

    const r = await box.run(['disable', '--all'], box.root);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    assert.ok(r.lines.includes('unset core.fsmonitor in global config'), r.stdout);
    for (const wt of [a, b]) {
      assert.ok(r.lines.includes(`unset core.fsmonitor in the local config of '${wt}'`), r.stdout);
      assert.equal(box.git(wt, ['config', '--list']).includes('fsmonitor'), false, wt);
    }
    for (const pid of pids)
      assert.ok(
        r.lines.some((l) => l.includes(`(pid ${pid})`)),
        r.stdout,
      );
    assert.equal(await daemonStatus(a), null);
    assert.equal(await daemonStatus(b), null);
    assert.deepEqual(
      box.globalConfig().filter((l) => l.startsWith('fsmond.') || l.startsWith('core.')),
      [],
    );
    assert.match(r.lines.at(-1)!, /^kept the shims in '.*shim-home'/);
    assert.ok(fs.existsSync(fsmonitor), 'a repository enabled by hand still finds its hook');
  });
});
