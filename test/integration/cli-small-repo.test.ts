/**
 * `enable` in a repository below fsmond.enableMinEntries: with the default limit (no key in
 * any config) it writes nothing and starts nothing, so git runs exactly as before; `--force`
 * enables it anyway; a repository at the limit is enabled; a repository enabled before stays
 * so. Real CLI, real git, real daemons.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { SETTINGS } from '../../src/daemon/index.js';
import { CliSandbox } from '../helpers/cli-sandbox.js';
import { daemonStatus, statusOracle, statusWithMonitor, stopDaemon } from '../helpers/git.js';

const LIMIT = SETTINGS.enableMinEntries;

describe('cli enable: small repositories', () => {
  const box = CliSandbox.forSuite();
  // The sandbox's global config enables small repositories for every other test: not here.
  fs.writeFileSync(path.join(box.home, '.gitconfig'), '');

  const localList = (wt: string) => box.git(wt, ['config', '--local', '--list']);
  const entries = (wt: string) => box.git(wt, ['ls-files']).split('\n').filter(Boolean).length;

  test(`the default limit is ${LIMIT.default} entries, and a 3-file repository is left alone`, async () => {
    assert.equal(LIMIT.default, 5000);
    const wt = box.repo('tiny');
    const before = localList(wt);
    const r = await box.run(['enable'], wt);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.errLines, []);
    assert.deepEqual(r.lines, [
      `left this repository alone: its index has ${entries(wt)} entries, below ${LIMIT.key} (5000), and git scans a repository this small faster than it runs any monitor; \`git fsmond enable --force\` enables it anyway, or run \`git fsmond enable\` again once it has grown`,
    ]);
    assert.equal(localList(wt), before, 'enable wrote to the local config');
    assert.deepEqual(
      box.globalConfig().filter((l) => l.startsWith('fsmond.worktree=')),
      [],
      'the worktree was recorded',
    );
    assert.equal(await daemonStatus(wt), null, 'a daemon was started');
    const doctor = await box.run(['doctor'], wt);
    assert.ok(
      doctor.lines.includes(
        `ok   core.fsmonitor: core.fsmonitor is unset, as enable leaves it in a repository of ${entries(wt)} index entries (below ${LIMIT.key}, 5000): git scans it faster than it runs any monitor; 'git fsmond enable --force' uses one anyway`,
      ),
      doctor.stdout,
    );
    fs.appendFileSync(path.join(wt, 'README.md'), 'more\n');
    assert.equal(statusWithMonitor(wt), statusOracle(wt));
  });

  test('--force enables it; enable again keeps it enabled; the daemon answers for real', async () => {
    const wt = box.repo('forced');
    const r = await box.run(['enable', '--force'], wt);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.lines[0]!, /^set core\.fsmonitor=.* in local config \(was unset\)$/);
    const s = await daemonStatus(wt);
    assert.ok(s?.watching, 'the daemon watches');
    const again = await box.run(['enable'], wt);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.lines[0], 'already enabled in local config');
    fs.appendFileSync(path.join(wt, 'README.md'), 'more\n');
    fs.writeFileSync(path.join(wt, 'new.txt'), 'new\n');
    assert.equal(statusWithMonitor(wt), statusOracle(wt));
    assert.equal(statusWithMonitor(wt), statusOracle(wt));
    assert.ok(((await daemonStatus(wt))?.queries ?? 0) > 0, 'git never asked the daemon');
    await stopDaemon(wt);
  });

  test('a repository at the limit is enabled; one entry below it is not', async () => {
    const at = box.repo('at-limit');
    box.git(at, ['config', LIMIT.key, String(entries(at))]);
    const r = await box.run(['enable'], at);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.lines[0]!, /^set core\.fsmonitor=/);
    await stopDaemon(at);

    const below = box.repo('below-limit');
    box.git(below, ['config', LIMIT.key, String(entries(below) + 1)]);
    const d = await box.run(['enable'], below);
    assert.equal(d.code, 0, d.stderr);
    assert.match(d.lines[0]!, /^left this repository alone: its index has \d+ entries, below/);
    assert.equal(d.lines.length, 1);
  });

  test('--global is not held back by the size of the repository it runs in', async () => {
    const wt = box.repo('global-here');
    const r = await box.run(['enable', '--global'], wt);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.lines[0]!, /^set core\.fsmonitor=.* in global config \(was unset\)$/);
    assert.ok(
      r.errLines.some((l) =>
        l.startsWith('note: globally, git spawns the shim in small repositories too'),
      ),
      r.stderr,
    );
    await stopDaemon(wt);
    assert.equal((await box.run(['disable', '--global'], wt)).code, 0);
  });
});
