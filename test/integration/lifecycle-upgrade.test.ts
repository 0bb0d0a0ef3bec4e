/**
 * Upgrade and uninstall against a real copy of the package: its own launcher enables a real
 * repository, then the copy's version is bumped (what `npm install -g` of a newer tarball does
 * to the files) or the copy is deleted (`npm uninstall -g`), while git runs. git must print
 * nothing on stderr and answer like the oracle throughout; the old daemon must exit by itself
 * and the next git command start the installed version. test/npm/ does the same through npm.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CliSandbox } from '../helpers/cli-sandbox.js';
import { daemonStatus, PACKAGE_ROOT as ROOT } from '../helpers/git.js';
import { GitRounds } from '../helpers/git-rounds.js';
import { alive, logOf } from '../helpers/lifecycle-util.js';

/** The parts of the package an install has (package.json's "files"), plus its dependencies through a link. */
function copyPackage(to: string): string {
  const files: string[] = JSON.parse(
    fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'),
  ).files;
  for (const f of files) fs.cpSync(path.join(ROOT, f), path.join(to, f), { recursive: true });
  fs.mkdirSync(path.join(to, 'hooks', 'bin'), { recursive: true });
  fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(to, 'package.json'));
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(to, 'node_modules'));
  return path.join(to, 'bin', 'git-fsmond');
}

/**
 * What a package packed on another machine carried: an ELF executable for another
 * architecture (aarch64 on x86-64, x86-64 elsewhere), newer than the source. git would run
 * it through sh on ENOEXEC and print a syntax error on every command.
 */
function plantForeignShim(pkg: string): void {
  const elf = Buffer.alloc(64);
  Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]).copy(elf);
  elf.writeUInt16LE(2, 16); // ET_EXEC
  elf.writeUInt16LE(process.arch === 'arm64' ? 0x3e : 0xb7, 18);
  fs.writeFileSync(path.join(pkg, 'hooks', 'bin', 'fsmond-hook'), elf, { mode: 0o755 });
}

function setVersion(pkg: string, version: string): void {
  const file = path.join(pkg, 'package.json');
  const json = JSON.parse(fs.readFileSync(file, 'utf8'));
  json.version = version;
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(json, null, 2));
  fs.renameSync(`${file}.tmp`, file);
}

describe('upgrade and uninstall of a package copy', () => {
  let box: CliSandbox;
  let pkg: string;
  let launcher: string;
  let wt: string;
  let git: GitRounds;
  before(() => {
    box = new CliSandbox();
    pkg = path.join(box.root, 'pkg');
    launcher = copyPackage(pkg);
    wt = box.repo('repo');
    git = new GitRounds(wt, box.env);
  });
  after(() => box.cleanup());

  test('a foreign shim in the package is never what git runs: enable builds one that runs', async () => {
    plantForeignShim(pkg);
    const r = await box.runFrom(launcher, ['enable'], wt);
    assert.equal(r.code, 0, r.stderr);
    const fsmonitor = box.git(wt, ['config', 'core.fsmonitor']).trim();
    assert.ok(box.isHomeShim(fsmonitor), fsmonitor);
    assert.ok(r.lines.includes(box.shimLine(fsmonitor)), r.stdout);
    const home = box.env.GIT_FSMOND_SHIM_HOME!;
    assert.equal(fs.realpathSync(path.join(home, 'bin', 'git-fsmond')), fs.realpathSync(launcher));
    await git.round();
    const doctor = await box.runFrom(launcher, ['doctor'], wt);
    assert.match(doctor.stdout, /^ok {3}shim: the (C|Node) shim ran here/m);
  });

  test('a newer version on disk: the old daemon exits, the next git command starts the new one', async () => {
    const old = await daemonStatus(wt);
    assert.ok(old, 'enable started a daemon');
    assert.equal(
      old.version,
      JSON.parse(fs.readFileSync(path.join(pkg, 'package.json'), 'utf8')).version,
    );
    await git.round(); // a query: the daemon polls twice a second from now on
    setVersion(pkg, '99.0.0-upgrade-test');
    await git.until('the old daemon gone', () => !alive(old.pid));
    assert.match(logOf(wt), /git-fsmond 99\.0\.0-upgrade-test was installed over /);
    await git.until(
      'the new version serving',
      async () => (await daemonStatus(wt))?.version === '99.0.0-upgrade-test',
    );
    for (let i = 0; i < 5; i++) await git.round();
  });

  test('the package deleted: git keeps working silently and no daemon is left', async () => {
    const running = await daemonStatus(wt);
    assert.ok(running, 'a daemon runs before the uninstall');
    await git.round();
    fs.rmSync(pkg, { recursive: true, force: true });
    await git.until('the daemon of the deleted package gone', () => !alive(running.pid), 40_000);
    for (let i = 0; i < 5; i++) await git.round();
    assert.equal(await daemonStatus(wt), null, 'no daemon started without a package');
    assert.match(logOf(wt), /was uninstalled: '.*package\.json' is gone/);
  });
});
