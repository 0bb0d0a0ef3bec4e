/**
 * git pointed at another directory with this repository's git dir (`--work-tree=B`, or
 * `GIT_DIR=A/.git` from B) asks A's daemon, which must not answer for A: such a client gets `/`
 * with a token no epoch accepts, so neither it nor A's next git command trusts what it wrote.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { NEVER_VALID_ID_PREFIX, REQUEST, TRIVIAL_REASON } from '../../src/contract/index.js';
import { sendRequest } from '../../src/ipc/index.js';
import {
  daemonStatus,
  GIT_ENV,
  git,
  LAUNCHER,
  makeRepo,
  PACKAGE_ROOT,
  socketOf,
  startRealDaemon,
  statusOracle,
  statusWithMonitor,
  stopDaemon,
} from '../helpers/git.js';
import { scratchDir } from '../helpers/scratch.js';
import { waitFor } from '../helpers/wait.js';

const FILES = { 'README.md': 'hello\n', 'src/a.txt': 'a\n', 'src/deep/b.txt': 'b\n' };
const STATUS = ['status', '--porcelain=v2', '--untracked-files=all'];

let a = '';
let b = '';

before(async () => {
  a = makeRepo({ files: FILES });
  await startRealDaemon(a);
});
after(() => stopDaemon(a));

/** B: A's files, some changed (other sizes), one missing, one untracked. */
function otherTree(): string {
  const dir = path.join(scratchDir(), 'b');
  fs.mkdirSync(path.join(dir, 'src', 'deep'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'README.md'), 'hello from b, longer\n');
  fs.writeFileSync(path.join(dir, 'src', 'a.txt'), 'a\n');
  fs.writeFileSync(path.join(dir, 'only-in-b.txt'), 'b\n');
  return dir;
}

/** A's index holds a token the daemon answers incrementally. */
function settle(): void {
  for (let i = 0; i < 2; i++) assert.equal(statusWithMonitor(a), statusOracle(a));
}

test('git --work-tree=B in A: B as git sees it without a monitor, then A right again', () => {
  settle();
  b = otherTree();
  const oracle = git(a, [
    '--no-optional-locks',
    '-c',
    'core.fsmonitor=false',
    `--work-tree=${b}`,
    ...STATUS,
  ]);
  assert.notEqual(oracle, statusOracle(a), 'B differs from A');
  assert.equal(git(a, [`--work-tree=${b}`, ...STATUS]), oracle);
  assert.equal(statusWithMonitor(a), statusOracle(a), "A after B's stat data went into its index");
  assert.equal(statusWithMonitor(a), statusOracle(a));
});

test('GIT_DIR=A/.git from B: the same', () => {
  settle();
  b = otherTree();
  const env = { ...GIT_ENV, GIT_DIR: path.join(a, '.git') };
  const run = (args: string[]) =>
    execFileSync('git', args, { cwd: b, env, encoding: 'latin1', stdio: 'pipe' });
  const oracle = run(['--no-optional-locks', '-c', 'core.fsmonitor=false', ...STATUS]);
  assert.equal(run(STATUS), oracle);
  assert.equal(statusWithMonitor(a), statusOracle(a));
});

/** A token query sent by a separate process whose cwd is `cwd`; the raw answer. */
async function queryFrom(cwd: string, token: string): Promise<string> {
  const client = path.join(PACKAGE_ROOT, 'dist', 'src', 'ipc', 'index.js');
  const script = `
    const { sendRequest } = await import(${JSON.stringify(client)});
    const raw = await sendRequest(process.argv[1], Buffer.from(process.argv[2], 'latin1'));
    process.stdout.write(raw.toString('latin1'));`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script, socketOf(a), token], {
    cwd,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString('latin1');
  });
  const code = await new Promise((r) => child.on('exit', r));
  assert.equal(code, 0);
  return out;
}

test('a query from a process in another directory gets / and a token that is never valid', async () => {
  const raw = await sendRequest(socketOf(a), Buffer.from('0'), { fromDir: a });
  const token = raw.toString('latin1').split('\0')[0]!;
  const fromA = await queryFrom(a, token);
  assert.notEqual(fromA.split('\0')[1], '/', `from the root: incremental (${fromA})`);
  for (const elsewhere of [otherTree(), path.join(a, 'src')]) {
    const [got, slash, rest] = (await queryFrom(elsewhere, token)).split('\0');
    assert.equal(slash, '/', elsewhere);
    assert.equal(rest, '');
    assert.ok(got?.startsWith(`builtin:${NEVER_VALID_ID_PREFIX.daemon}`), got);
  }
});

test('a daemon that cannot place its client (another pid namespace) answers / never valid', async (t) => {
  const c = makeRepo({ files: FILES });
  const args = ['--pid', '--fork', '--mount-proc', LAUNCHER, 'daemon', c];
  if (spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true']).status !== 0) {
    return t.skip('cannot make a pid namespace here (unshare --pid needs root or user namespaces)');
  }
  const d = spawn('unshare', args, { env: GIT_ENV, stdio: 'ignore' });
  const exited = new Promise((r) => d.once('exit', r));
  // Not stopDaemon: the pid in its status is one of the namespace's.
  t.after(async () => {
    await sendRequest(socketOf(c), Buffer.from(REQUEST.quit)).catch(() => {});
    await exited;
  });
  await waitFor(
    'the namespaced daemon to watch',
    async () => (await daemonStatus(c))?.watching === true,
  );
  assert.notEqual((await daemonStatus(c))?.pid, d.pid, 'it runs under another pid');
  const raw = await sendRequest(socketOf(c), Buffer.from('0'), { fromDir: c });
  const [token, slash] = raw.toString('latin1').split('\0');
  assert.equal(slash, '/');
  assert.ok(token?.startsWith(`builtin:${NEVER_VALID_ID_PREFIX.daemon}`), token);
  assert.equal((await daemonStatus(c))?.lastTrivialReason, TRIVIAL_REASON.unknownAsker);
  assert.equal(git(c, STATUS), statusOracle(c));
});
