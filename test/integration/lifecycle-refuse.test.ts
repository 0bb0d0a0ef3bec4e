/**
 * Refusals: a bare repository, a directory that is not a repository, a worktree on a network
 * filesystem (a real FUSE mount made with bindfs) without fsmonitor.allowRemote, a git dir
 * that cannot hold the socket with no usable fsmonitor.socketDir. Each is one line, and the
 * lasting ones leave `<gitdir>/fsmond/refused` so that git commands answer `/` at once instead
 * of starting a daemon that refuses again. With fsmonitor.allowRemote=true the socket moves to
 * fsmonitor.socketDir, as git's own daemon does, and the shims find it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { sendRequest } from '../../src/ipc/index.js';
import {
  GIT_ENV,
  git,
  LAUNCHER,
  makeRepo,
  NODE_SHIM,
  socketOf,
  statusAt,
  statusOracle,
  testShim,
} from '../helpers/git.js';
import { type FuseMount, mountBindfs } from '../helpers/lifecycle-fuse.js';
import { alive, gitGuarded, mode, readLog, reap, Tracked } from '../helpers/lifecycle-util.js';
import { scratchDir } from '../helpers/scratch.js';
import { waitFor } from '../helpers/wait.js';

const STATUS = ['status', '--porcelain=v2', '--untracked-files=all'];
// Not trackForCleanup(): the FUSE mount must go before the dirs that hold it are removed.
const track = new Tracked();
const relocated: string[] = [];
let fuse: FuseMount | null = null;

after(async () => {
  for (const d of track.daemons) await reap(d);
  for (const sock of relocated) await quit(sock);
  fuse?.unmount();
});

const scratch = () => scratchDir('fsmond-refuse-');

async function quit(sock: string): Promise<void> {
  const s = await statusAt(sock);
  if (!s) return;
  await sendRequest(sock, Buffer.from('quit')).catch(() => {});
  await waitFor('the daemon to exit', () => !alive(Number(s.pid)));
}

const refusedOf = (gitDir: string) => path.join(gitDir, 'fsmond', 'refused');

describe('refusals on a local filesystem', () => {
  test('a bare repository', async () => {
    const bare = path.join(scratch(), 'bare.git');
    git(path.dirname(bare), ['init', '-q', '--bare', bare]);
    const line = await track.refusal(bare);
    assert.match(line, /^git-fsmond: bare repository '.*' is incompatible with fsmonitor$/);
    assert.equal(fs.readFileSync(refusedOf(bare), 'utf8'), `${line.replace('git-fsmond: ', '')}\n`);
    assert.equal(mode(refusedOf(bare)), 0o600);
  });

  test('a directory that is not a repository: nothing is written there', async () => {
    const dir = scratch();
    assert.match(await track.refusal(dir), /^git-fsmond: not a git repository: /);
    assert.deepEqual(fs.readdirSync(dir), []);
  });

  test("GIT_DIR=A/.git from B: B is not A's worktree; nothing recorded or written", async () => {
    const a = makeRepo({ parent: scratch() });
    const b = scratch();
    const env = { ...GIT_ENV, GIT_DIR: path.join(a, '.git') };
    const line = await track.refusal(b, env);
    assert.match(line, /^git-fsmond: '.*' is not the worktree of git dir '.*\.git'/);
    assert.ok(!fs.existsSync(refusedOf(path.join(a, '.git'))), 'A may still start its daemon');
    assert.deepEqual(fs.readdirSync(b), []);
    // The CLI says the same before it starts anything.
    const cli = spawnSync(LAUNCHER, ['start'], { cwd: b, env, encoding: 'utf8' });
    assert.equal(cli.status, 1, cli.stderr);
    assert.match(cli.stderr, /^git-fsmond: '.*' is not the worktree of git dir/);
    assert.equal(await statusAt(path.join(a, '.git', 'fsmonitor--daemon.ipc')), null);
    // Its own worktree, through the same GIT_DIR, and a linked worktree's, still start.
    await track.serve(a, { env });
    await quit(socketOf(a));
    const linked = path.join(scratch(), 'linked');
    git(a, ['-c', 'core.fsmonitor=false', 'worktree', 'add', '-q', linked]);
    await track.serve(linked);
    await quit(socketOf(linked));
  });

  test('a worktree whose path holds a newline: its files go into its own git dir', async () => {
    const parent = scratch();
    const wt = makeRepo({ parent, name: 'new\nline' });
    await track.serve(wt);
    const sock = socketOf(wt);
    assert.equal(sock, path.join(wt, '.git', 'fsmonitor--daemon.ipc'));
    assert.ok(fs.existsSync(path.join(wt, '.git', 'fsmond', 'daemon.log')));
    assert.deepEqual(fs.readdirSync(parent), ['new\nline']);
    assert.equal(git(wt, STATUS), statusOracle(wt));
    fs.writeFileSync(path.join(wt, 'README.md'), 'changed, longer\n');
    assert.equal(git(wt, STATUS), statusOracle(wt));
    await quit(sock);
  });

  test('a repository of another user: what git says about it', async (t) => {
    if (process.getuid?.() !== 0) return t.skip('needs root to give a repository away');
    const parent = scratch();
    const wt = makeRepo({ parent, monitor: false });
    spawnSync('chown', ['-R', '65534:65534', wt]);
    const line = await track.refusal(wt);
    assert.match(
      line,
      /^git-fsmond: detected dubious ownership in repository at '.*'; to allow it: git config --global --add safe.directory /,
    );
  });
});

const mounted = (() => {
  const base = scratch();
  const m = mountBindfs(base);
  if (typeof m === 'string') return m;
  fuse = m;
  return m;
})();
const skip = typeof mounted === 'string' ? `skipped: ${mounted}` : false;

describe('a worktree on a FUSE filesystem (bindfs)', { skip }, () => {
  const mnt = () => (mounted as FuseMount).mountpoint;
  const wtHash = (wt: string) => createHash('sha1').update(wt).digest('hex');

  for (const [kind, shim] of [
    ['C', testShim()],
    ['Node', NODE_SHIM],
  ] as const) {
    test(`refused; the ${kind} shim then answers / without starting it again`, async () => {
      const wt = makeRepo({ parent: mnt(), name: `remote-${kind}`, shim });
      const gitDir = path.join(wt, '.git');
      const local = scratch();
      const count = path.join(local, 'starts');
      const launcher = path.join(local, 'launcher');
      fs.writeFileSync(launcher, `#!/bin/sh\necho x >> '${count}'\nexec '${LAUNCHER}' "$@"\n`, {
        mode: 0o755,
      });
      const env = { ...GIT_ENV, GIT_FSMOND_LAUNCHER: launcher };
      const starts = () => (fs.existsSync(count) ? fs.readFileSync(count, 'utf8').length / 2 : 0);
      const status = async () => {
        const r = await gitGuarded(wt, STATUS, { env });
        assert.equal(r.hung, false, 'git status hung');
        assert.equal(r.stdout, statusOracle(wt));
      };
      await status();
      assert.equal(starts(), 1);
      assert.match(
        fs.readFileSync(refusedOf(gitDir), 'utf8'),
        /^remote repository '.*' \(fuse\) is incompatible with fsmonitor; set fsmonitor\.allowRemote=true to override\n$/,
      );
      assert.match(readLog(gitDir), /refusing to start: remote repository/);
      await status();
      await status();
      assert.equal(starts(), 1, 'not started again while the refusal is fresh');
      const old = new Date(Date.now() - 120_000);
      fs.utimesSync(refusedOf(gitDir), old, old);
      await status();
      assert.equal(starts(), 2, 'an old refusal is retried');
      assert.match(
        await track.refusal(wt),
        /^git-fsmond: remote repository '.*' \(fuse\) is incomp/,
      );
    });
  }

  test('fsmonitor.allowRemote=true: the socket goes to fsmonitor.socketDir and both shims find it', async () => {
    const wt = makeRepo({ parent: mnt(), name: 'allowed' });
    const sockDir = scratch();
    git(wt, ['config', 'fsmonitor.allowRemote', 'true']);
    git(wt, ['config', 'fsmonitor.socketDir', sockDir]);
    const sock = path.join(sockDir, `.git-fsmonitor-${wtHash(wt)}`);
    relocated.push(sock);
    const first = await gitGuarded(wt, STATUS);
    assert.equal(first.stdout, statusOracle(wt));
    await waitFor('the relocated daemon', async () => (await statusAt(sock))?.watching === true);
    const pointer = path.join(wt, '.git', 'fsmond', 'socket');
    assert.equal(fs.readFileSync(pointer, 'utf8'), `${sock}\n`);
    assert.equal(mode(pointer), 0o600);
    assert.equal(mode(sock), 0o600);
    assert.ok(!fs.existsSync(path.join(wt, '.git', 'fsmonitor--daemon.ipc')));
    await gitGuarded(wt, STATUS);
    const s1 = (await statusAt(sock))!;
    for (const shim of [testShim(), NODE_SHIM]) {
      fs.writeFileSync(path.join(wt, 'src/a.txt'), `edited for ${shim}\n`);
      const r = await gitGuarded(wt, ['-c', `core.fsmonitor=${shim}`, ...STATUS]);
      assert.match(r.stdout, /src\/a\.txt/);
      assert.equal(r.stdout, statusOracle(wt));
    }
    const s2 = (await statusAt(sock))!;
    assert.equal(s2.pid, s1.pid);
    assert.ok(Number(s2.answers) >= Number(s1.answers) + 2, 'both shims asked the daemon');
    assert.equal(s2.trivialAnswers, s1.trivialAnswers, 'and got exact answers');
    // After a SIGKILL the pointer names a dead socket: the next command starts a new daemon.
    process.kill(Number(s2.pid), 'SIGKILL');
    await waitFor('the killed daemon to go', () => !alive(Number(s2.pid)));
    assert.equal((await gitGuarded(wt, STATUS)).stdout, statusOracle(wt));
    await waitFor('a new relocated daemon', async () => {
      const s = await statusAt(sock);
      return s !== null && s.pid !== s2.pid;
    });
    await quit(sock);
    assert.ok(!fs.existsSync(sock), 'socket removed');
    assert.ok(!fs.existsSync(pointer), 'pointer removed');
  });

  test('fsmonitor.socketDir unset: the socket goes to $HOME, as git does', async () => {
    const wt = makeRepo({ parent: mnt(), name: 'home' });
    git(wt, ['config', 'fsmonitor.allowRemote', 'true']);
    const sock = path.join(GIT_ENV.HOME!, `.git-fsmonitor-${wtHash(wt)}`);
    relocated.push(sock);
    const d = track.spawn(wt);
    await waitFor('the daemon in $HOME', async () => (await statusAt(sock))?.pid === d.pid);
    await quit(sock);
  });

  test('a socket directory on FUSE as well: refused, naming fsmonitor.socketDir', async () => {
    const wt = makeRepo({ parent: mnt(), name: 'nosockets' });
    fs.mkdirSync(path.join(mnt(), 'sockets'));
    git(wt, ['config', 'fsmonitor.allowRemote', 'true']);
    git(wt, ['config', 'fsmonitor.socketDir', path.join(mnt(), 'sockets')]);
    const line = await track.refusal(wt);
    assert.match(line, /cannot hold the daemon's socket.*set fsmonitor\.socketDir to a local/);
    assert.ok(fs.existsSync(refusedOf(path.join(wt, '.git'))));
  });
});
