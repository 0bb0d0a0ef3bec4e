/**
 * The package through real npm: `npm pack` of this (built) checkout, a global install into a
 * temporary prefix, `enable` in a real repository, an upgrade to a second tarball with a
 * bumped version while git runs in a loop, then `npm uninstall -g`. Throughout, git must print
 * nothing on stderr and answer like the oracle; afterwards no daemon may be left. Slow (npm
 * resolves the dependencies twice), so it is not part of `npm test`: `npm run test:npm`, which
 * `.ci/run` runs too.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CliSandbox, runCollected } from '../helpers/cli-sandbox.js';
import { daemonStatus, PACKAGE_ROOT as ROOT } from '../helpers/git.js';
import { GitRounds } from '../helpers/git-rounds.js';
import { alive } from '../helpers/lifecycle-util.js';

const NEXT = '0.1.1-npm-test';

/** npm with the user's cache (the sandbox HOME has none), quiet about audits and funding. */
const npmEnv: NodeJS.ProcessEnv = {
  ...process.env,
  npm_config_audit: 'false',
  npm_config_fund: 'false',
  npm_config_update_notifier: 'false',
  npm_config_prefer_offline: 'true',
};

const npm = (args: string[], cwd: string) => runCollected('npm', args, cwd, npmEnv, 300_000);

/** `npm pack` without scripts: prepack would rebuild the checkout under the running tests. */
async function pack(dir: string, dest: string): Promise<string> {
  const r = await npm(['pack', '--ignore-scripts', '--pack-destination', dest], dir);
  assert.equal(r.code, 0, r.stderr);
  return path.join(dest, r.stdout.trim().split('\n').pop()!);
}

/** The same package with another version: unpack, bump, pack again. */
async function bumped(tarball: string, dest: string): Promise<string> {
  const dir = path.join(dest, 'next');
  fs.mkdirSync(dir);
  const untar = spawnSync('tar', ['-xzf', tarball, '-C', dir]);
  assert.equal(untar.status, 0, String(untar.stderr));
  const file = path.join(dir, 'package', 'package.json');
  const json = JSON.parse(fs.readFileSync(file, 'utf8'));
  json.version = NEXT;
  fs.writeFileSync(file, JSON.stringify(json, null, 2));
  return pack(path.join(dir, 'package'), dest);
}

/** Lines npm printed that name our package: a clean install has none. */
const ours = (stderr: string) =>
  stderr.split('\n').filter((l) => /git-fsmond/.test(l) && !/^npm (notice|http)/.test(l));

describe('through real npm: pack, install -g, enable, upgrade, uninstall', () => {
  let box: CliSandbox;
  let prefix: string;
  let first: string;
  let second: string;
  let wt: string;
  let git: GitRounds;
  let skip: string | null = null;
  before(async () => {
    box = new CliSandbox();
    prefix = path.join(box.root, 'prefix');
    const which = spawnSync('npm', ['--version'], { encoding: 'utf8' });
    if (which.status !== 0) {
      skip = 'npm is not on PATH';
      return;
    }
    first = await pack(ROOT, box.root);
    second = await bumped(first, box.root);
    wt = box.repo('repo');
    git = new GitRounds(wt, box.env);
  });
  after(() => box.cleanup());

  test('the tarball carries no compiled shim', (t) => {
    if (skip) return t.skip(skip);
    const list = spawnSync('tar', ['-tzf', first], { encoding: 'utf8' }).stdout.split('\n');
    assert.ok(list.includes('package/hooks/fsmond-hook.c'), 'the source is packed');
    assert.deepEqual(
      list.filter((f) => f.startsWith('package/hooks/bin/')),
      [],
      'a binary of the packing machine',
    );
  });

  test('install -g prints no warning of ours; enable runs the shim; git is silent', async (t) => {
    if (skip) return t.skip(skip);
    const r = await npm(['install', '-g', '--prefix', prefix, first], box.root);
    if (r.code !== 0 && /ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT/.test(r.stderr)) {
      skip = `npm cannot reach the registry for the dependencies: ${r.stderr.split('\n')[0]}`;
      return t.skip(skip);
    }
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(ours(r.stderr), [], r.stderr);
    const e = await box.runFrom(path.join(prefix, 'bin', 'git-fsmond'), ['enable'], wt);
    assert.equal(e.code, 0, e.stderr);
    assert.equal(e.stderr, '');
    const fsmonitor = box.git(wt, ['config', 'core.fsmonitor']).trim();
    assert.ok(box.isHomeShim(fsmonitor), `git runs the shim home's shim: ${fsmonitor}`);
    assert.ok(e.lines.includes(box.shimLine(fsmonitor)), e.stdout);
    assert.match(e.lines.at(-1)!, /^started daemon \(pid \d+\)/);
    for (let i = 0; i < 3; i++) await git.round();
    const s = await box.runFrom(path.join(prefix, 'bin', 'git-fsmond'), ['status'], wt);
    assert.equal(s.code, 0, s.stderr);
    assert.equal(s.lines[0], `watching '${wt}'`);
  });

  test('an upgrade while git runs in a loop: no error, the new version serves', async (t) => {
    if (skip) return t.skip(skip);
    const old = await daemonStatus(wt);
    assert.ok(old, 'a daemon runs');
    assert.notEqual(old.version, NEXT);
    let installing = true;
    const install = npm(['install', '-g', '--prefix', prefix, second], box.root).finally(() => {
      installing = false;
    });
    await git.until('installed', () => !installing, 300_000);
    const r = await install;
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(ours(r.stderr), [], r.stderr);
    await git.until('the new version serving', async () => {
      return !alive(old.pid) && (await daemonStatus(wt))?.version === NEXT;
    });
    for (let i = 0; i < 3; i++) await git.round();
    t.diagnostic(`${git.rounds} git commands so far, none printed anything on stderr`);
  });

  test('uninstall: git stays silent and correct, no daemon is left', async (t) => {
    if (skip) return t.skip(skip);
    const running = await daemonStatus(wt);
    assert.ok(running, 'a daemon runs');
    let removing = true;
    const uninstall = npm(['uninstall', '-g', '--prefix', prefix, 'git-fsmond'], box.root).finally(
      () => {
        removing = false;
      },
    );
    await git.until('uninstalled', () => !removing, 120_000);
    const r = await uninstall;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(fs.existsSync(path.join(prefix, 'lib', 'node_modules', 'git-fsmond')), false);
    await git.until('the daemon gone', () => !alive(running.pid), 40_000);
    for (let i = 0; i < 5; i++) await git.round();
    assert.equal(await daemonStatus(wt), null, 'no daemon is left');
  });
});
