/** The daemon's watch on its own package: act on an upgrade or uninstall once it has settled. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { PACKAGE_GONE_MS, PACKAGE_SETTLE_MS, watchPackage } from '../../src/daemon/health.js';

describe('watchPackage', () => {
  let root: string;
  let clock: number;
  const now = () => clock;
  const write = (rel: string, text: string) => {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), text);
  };
  /** A package as npm leaves it; `version` changes package.json's size, hence its stat. */
  const install = (version: string) => {
    for (const f of ['bin/git-fsmond', 'dist/src/cli/main.js', 'dist/src/daemon/index.js']) {
      write(f, '');
    }
    write('package.json', JSON.stringify({ version, dependencies: { dep: '1' } }));
    // An exports map hides package.json from require.resolve, as commander's and koffi's do.
    write('node_modules/dep/package.json', '{"exports": {".": "./index.js"}}');
  };
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'fsmond-pkg-'));
    clock = 1_000_000;
    install('1.0.0');
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  test('an unchanged package, or the same version rewritten: nothing to do', () => {
    const w = watchPackage(root, '1.0.0', now);
    assert.equal(w.check(), null);
    write('package.json', JSON.stringify({ version: '1.0.0', dependencies: { dep: '1' }, x: 1 }));
    assert.equal(w.check(), null);
    clock += PACKAGE_SETTLE_MS;
    assert.equal(w.check(), null);
    assert.equal(w.settling(), false);
  });

  test('a newer version counts once it has settled and is complete', () => {
    const w = watchPackage(root, '1.0.0', now);
    install('1.0.1');
    fs.rmSync(path.join(root, 'node_modules'), { recursive: true });
    assert.equal(w.check(), null, 'not settled yet');
    assert.equal(w.settling(), true);
    clock += PACKAGE_SETTLE_MS;
    assert.equal(w.check(), null, 'a dependency is still missing');
    write('node_modules/dep/package.json', '{}');
    clock += PACKAGE_SETTLE_MS;
    assert.equal(w.check(), 'git-fsmond 1.0.1 was installed over 1.0.0');
  });

  test('gone for a moment (npm swapping the directory) is not an uninstall', () => {
    const w = watchPackage(root, '1.0.0', now);
    fs.rmSync(path.join(root, 'package.json'));
    assert.equal(w.check(), null);
    clock += PACKAGE_GONE_MS - 1;
    assert.equal(w.check(), null);
    install('1.0.0');
    assert.equal(w.check(), null);
    clock += PACKAGE_SETTLE_MS;
    assert.equal(w.check(), null, 'the same version came back');
  });

  test('gone for good: uninstalled', () => {
    const w = watchPackage(root, '1.0.0', now);
    fs.rmSync(root, { recursive: true, force: true });
    assert.equal(w.check(), null);
    clock += PACKAGE_SETTLE_MS;
    assert.equal(w.check(), null, 'npm may still be extracting the new version');
    clock += PACKAGE_GONE_MS;
    assert.match(w.check()!, /^git-fsmond 1\.0\.0 was uninstalled: '.*package\.json' is gone$/);
  });
});
