import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { REQUEST } from '../../src/contract/index.js';
import { sendRequest } from '../../src/ipc/index.js';
import {
  daemonStatus,
  git,
  makeRepo,
  socketOf,
  startRealDaemon,
  statusOracle,
  statusWithMonitor,
  stopDaemon,
  stopDaemonAfter,
} from '../helpers/git.js';
import { scratchDir } from '../helpers/scratch.js';
import { waitFor } from '../helpers/wait.js';

// The layout of git's t7527 matrix tests.
const FILES: Record<string, string> = {
  tracked: 'x\n',
  modified: 'x\n',
  delete: 'x\n',
  rename: 'x\n',
  'dir1/tracked': 'x\n',
  'dir1/modified': 'x\n',
  'dir1/delete': 'x\n',
  'dir1/rename': 'x\n',
  'dir2/tracked': 'x\n',
  'dir2/modified': 'x\n',
  'dir2/delete': 'x\n',
  'dir2/rename': 'x\n',
  'dirtorename/a': 'x\n',
  'dirtorename/b': 'x\n',
  'T1/T2/T3/T4/F1': 'x\n',
  'T1/T2/T3/T4/F2': 'x\n',
  'T1/T2/T3/F1': 'x\n',
  'T1/T2/F1': 'x\n',
  'T1/F1': 'x\n',
  '.gitignore': '*.ignored\n',
};

const w = (wt: string, rel: string, data = 'changed\n') => {
  fs.mkdirSync(path.dirname(path.join(wt, rel)), { recursive: true });
  fs.writeFileSync(path.join(wt, rel), data);
};
const mv = (wt: string, a: string, b: string) => fs.renameSync(path.join(wt, a), path.join(wt, b));
const rm = (wt: string, rel: string) =>
  fs.rmSync(path.join(wt, rel), { recursive: true, force: true });

const MATRIX: Record<string, (wt: string) => void> = {
  edit_files: (wt) =>
    ['modified', 'dir1/modified', 'dir2/modified', 'untracked'].forEach((f) => {
      w(wt, f);
    }),
  delete_files: (wt) =>
    ['delete', 'dir1/delete', 'dir2/delete'].forEach((f) => {
      rm(wt, f);
    }),
  create_files: (wt) =>
    ['new', 'dir1/new', 'dir2/new', 'x.ignored'].forEach((f) => {
      w(wt, f);
    }),
  rename_files: (wt) =>
    ['', 'dir1/', 'dir2/'].forEach((d) => {
      mv(wt, `${d}rename`, `${d}renamed`);
    }),
  file_to_directory: (wt) => {
    rm(wt, 'delete');
    w(wt, 'delete/new');
  },
  directory_to_file: (wt) => {
    rm(wt, 'dir1');
    w(wt, 'dir1', '1\n');
  },
  move_directory_contents_deeper: (wt) => {
    fs.mkdirSync(path.join(wt, 'T1/_t'));
    for (const e of ['F1', 'T2']) mv(wt, `T1/${e}`, `T1/_t/${e}`);
  },
  move_directory_up: (wt) => mv(wt, 'T1/T2/T3', 'T1/T3'),
  move_directory: (wt) => mv(wt, 'T1/T2/T3', 'T1/T2/NewT3'),
  rename_directory: (wt) => mv(wt, 'dirtorename', 'dirrenamed'),
  rapid_nested_mkdir: (wt) => {
    for (let i = 0; i < 20; i++)
      fs.mkdirSync(path.join(wt, `rapid/nested/dir${i}/subdir/deep`), { recursive: true });
    w(wt, 'rapid/nested/dir7/subdir/deep/file');
  },
};

for (const uc of [false, true]) {
  describe(`t7527 matrix, untracked cache ${uc}`, () => {
    let wt: string;
    before(async () => {
      wt = makeRepo({ files: FILES, untrackedCache: uc });
      await startRealDaemon(wt);
      statusWithMonitor(wt);
    });
    after(() => stopDaemon(wt));

    for (const [name, op] of Object.entries(MATRIX)) {
      test(name, async () => {
        git(wt, ['reset', '-q', '--hard']);
        git(wt, ['clean', '-fdxq']);
        statusWithMonitor(wt);
        const before = (await daemonStatus(wt))!;
        op(wt);
        assert.equal(statusWithMonitor(wt), statusOracle(wt));
        const afterOp = (await daemonStatus(wt))!;
        assert.equal(afterOp.trivialAnswers, before.trivialAnswers, 'the answer was incremental');
        assert.ok(afterOp.answers > before.answers, 'git asked the daemon');
      });
    }
  });
}

describe('the answer itself', () => {
  let wt: string;
  before(async () => {
    wt = makeRepo({ files: FILES });
    await startRealDaemon(wt);
  });
  after(() => stopDaemon(wt));

  async function query(token: string): Promise<{ token: string; paths: string[] }> {
    const raw = (await sendRequest(socketOf(wt), Buffer.from(token), { fromDir: wt }))
      .toString('latin1')
      .split('\0');
    return { token: raw[0]!, paths: raw.slice(1, -1) };
  }

  test('reports both names of a rename and every path below a renamed directory', async () => {
    const t = (await query('0')).token;
    mv(wt, 'rename', 'renamed');
    mv(wt, 'dirtorename', 'dirrenamed');
    const { paths } = await query(t);
    for (const p of [
      'rename',
      'renamed',
      'dirtorename',
      'dirrenamed',
      'dirrenamed/a',
      'dirrenamed/b',
    ]) {
      assert.ok(paths.includes(p), `${p} in ${JSON.stringify(paths)}`);
    }
    assert.ok(!paths.some((p) => p === '' || p.startsWith('.git')), 'no empty or .git paths');
  });

  test('flush starts a new epoch: the old token gets /, the new one works', async () => {
    const t = (await query('0')).token;
    const flushed = (await sendRequest(socketOf(wt), Buffer.from(REQUEST.flush))).toString(
      'latin1',
    );
    assert.match(flushed, /^builtin:[^:]+:\d+\0\/\0$/);
    const newToken = flushed.split('\0')[0]!;
    assert.notEqual(newToken.split(':')[1], t.split(':')[1]);
    assert.deepEqual((await query(t)).paths, ['/']);
    w(wt, 'after-flush');
    assert.deepEqual((await query(newToken)).paths, ['after-flush']);
  });
});

describe("git 2.55's Linux bugs, which we must not have", () => {
  let wt: string;
  let outside: string;
  before(async () => {
    wt = makeRepo({ files: { 'a/sub/f.txt': '1\n', 'top.txt': '1\n' } });
    outside = scratchDir('fsmond-outside-');
    await startRealDaemon(wt);
    statusWithMonitor(wt);
  });
  after(() => stopDaemon(wt));

  test('bug A: an edit inside a subdirectory of a renamed directory', () => {
    mv(wt, 'a', 'b');
    git(wt, ['add', '-A']);
    git(wt, ['commit', '-qm', 'rename']);
    statusWithMonitor(wt);
    w(wt, 'b/sub/f.txt', '2\n');
    const out = statusWithMonitor(wt);
    assert.match(out, /b\/sub\/f\.txt/);
    assert.equal(out, statusOracle(wt));
  });

  test('bug B: an edit directly inside a directory moved in from outside', () => {
    fs.mkdirSync(path.join(outside, 'm/inner'), { recursive: true });
    fs.writeFileSync(path.join(outside, 'm/f.txt'), '1\n');
    fs.writeFileSync(path.join(outside, 'm/inner/k.txt'), '1\n');
    fs.renameSync(path.join(outside, 'm'), path.join(wt, 'm'));
    git(wt, ['add', '-A']);
    git(wt, ['commit', '-qm', 'move in']);
    statusWithMonitor(wt);
    w(wt, 'm/f.txt', '2\n');
    w(wt, 'm/inner/k.txt', '2\n');
    w(wt, 'm/newfile', 'new\n');
    const out = statusWithMonitor(wt);
    assert.match(out, /m\/f\.txt/);
    assert.equal(out, statusOracle(wt));
  });

  test('bug C: a directory moved out does not stop the daemon', async () => {
    const before = (await daemonStatus(wt))!;
    mv(wt, 'm', path.relative(wt, path.join(outside, 'gone')));
    fs.writeFileSync(path.join(outside, 'gone/f.txt'), 'edited outside\n');
    assert.equal(statusWithMonitor(wt), statusOracle(wt));
    // Until the moved-out watches are dropped (after the hold, where git 2.55 gives up and
    // exits), rather than a fixed sleep.
    const now = await waitFor('the moved-out watches to be dropped', async () => {
      const s = await daemonStatus(wt);
      return s && s.watchedDirectories !== before.watchedDirectories && s;
    });
    assert.equal(now.pid, before.pid, 'same daemon still serving');
    w(wt, 'top.txt', 'still watching\n');
    assert.equal(statusWithMonitor(wt), statusOracle(wt));
  });
});

describe('layouts', () => {
  test('a unicode root path', async (t) => {
    const wt = makeRepo({ parent: scratchDir(), name: 'u_c3_a6__æ ♫' });
    await startRealDaemon(stopDaemonAfter(t, wt));
    statusWithMonitor(wt);
    w(wt, 'file1', 'new\n');
    w(wt, 'src/a.txt', 'edit\n');
    const out = statusWithMonitor(wt);
    assert.match(out, /file1/);
    assert.equal(out, statusOracle(wt));
  });

  test('a linked worktree has its own daemon and cookies in its own git dir', async (t) => {
    const main = makeRepo();
    const linked = path.join(path.dirname(main), 'linked');
    git(main, ['worktree', 'add', '-q', linked]);
    await startRealDaemon(stopDaemonAfter(t, linked));
    assert.match((await daemonStatus(linked))!.gitDir as string, /\.git\/worktrees\/linked$/);
    statusWithMonitor(linked);
    w(linked, 'src/a.txt', 'linked edit\n');
    w(linked, 'src/new/n.txt', 'n\n');
    mv(linked, 'src/deep', 'src/deeper');
    const out = statusWithMonitor(linked);
    assert.match(out, /src\/a\.txt/);
    assert.equal(out, statusOracle(linked));
  });

  test('a submodule is always visited and the super-project status stays right', async (t) => {
    const sub = makeRepo({ files: { 's.txt': 's\n' }, monitor: false });
    const sup = makeRepo();
    git(sup, [
      '-c',
      'protocol.file.allow=always',
      'submodule',
      'add',
      '-q',
      sub,
      'dir_1/dir_2/sub',
    ]);
    git(sup, ['commit', '-qm', 'add sub']);
    await startRealDaemon(stopDaemonAfter(t, sup));
    statusWithMonitor(sup);
    const subWt = path.join(sup, 'dir_1/dir_2/sub');
    w(subWt, 'untracked-in-sub', 'u\n');
    assert.equal(statusWithMonitor(sup), statusOracle(sup));
    w(subWt, 's.txt', 'modified in sub\n');
    git(subWt, ['-c', 'core.fsmonitor=false', 'add', 's.txt']);
    assert.equal(statusWithMonitor(sup), statusOracle(sup));
    git(subWt, ['-c', 'core.fsmonitor=false', 'commit', '-qm', 'sub commit']);
    const out = statusWithMonitor(sup);
    assert.match(out, /dir_1\/dir_2\/sub/);
    assert.equal(out, statusOracle(sup));
  });
});
