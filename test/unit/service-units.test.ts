/** The systemd units IPC mode writes (pure text) and the mode decision (a pure table). */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import {
  decideMode,
  escapePath,
  execWord,
  type ModeInputs,
  unitBaseName,
  unitFiles,
  unitSafe,
} from '../../src/service/index.js';

const has = (tool: string) => {
  try {
    execFileSync(tool, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};
const hasEscape = has('systemd-escape');
const hasAnalyze = has('systemd-analyze');

const spec = (gitDir: string, worktree = gitDir.replace(/\/\.git$/, '')) => ({
  name: unitBaseName(gitDir),
  worktree,
  gitDir,
  socketPath: `${gitDir}/fsmonitor--daemon.ipc`,
  command: ['/usr/bin/node', '/opt/git-fsmond/bin/git-fsmond', 'daemon', worktree],
});

describe('unit names', () => {
  const paths = ['/home/me/src/repo/.git', '/tmp/a b/.git', '/tmp/x-y/é/.git', '/.hidden/r/.git'];
  test('escape paths as systemd-escape --path does', {
    skip: hasEscape ? false : 'systemd-escape not found (Debian package systemd)',
  }, () => {
    for (const p of paths) {
      const want = execFileSync('systemd-escape', ['--path', p], { encoding: 'utf8' }).trim();
      assert.equal(escapePath(p), want, p);
    }
  });

  test('one name per git dir, prefixed, within the 255-byte limit', () => {
    assert.equal(unitBaseName('/home/me/r/.git'), 'git-fsmond-home-me-r-.git');
    assert.notEqual(unitBaseName('/a/b-c/.git'), unitBaseName('/a/b/c/.git'));
    const deep = `/${'d'.repeat(120)}/${'e'.repeat(120)}/.git`;
    const name = unitBaseName(deep);
    assert.match(name, /^git-fsmond-[0-9a-f]{40}$/);
    assert.notEqual(name, unitBaseName(`${deep.slice(0, -5)}x/.git`));
  });
});

describe('unit files', () => {
  test('the socket unit listens at git’s path, 0600, only while the git dir exists', () => {
    const { socket } = unitFiles(spec('/home/me/r/.git'));
    const lines = socket.split('\n');
    assert.ok(lines.includes('ListenStream=/home/me/r/.git/fsmonitor--daemon.ipc'));
    assert.ok(lines.includes('SocketMode=0600'));
    assert.ok(lines.includes('ConditionPathIsDirectory=/home/me/r/.git'));
    assert.ok(lines.includes('WantedBy=sockets.target'));
    assert.ok(lines.includes('RemoveOnStop=yes'));
  });

  test('the service runs the daemon, names its socket unit, and never restarts by itself', () => {
    const s = spec('/home/me/r/.git');
    const { service } = unitFiles(s);
    const lines = service.split('\n');
    assert.ok(
      lines.includes(
        'ExecStart="/usr/bin/node" "/opt/git-fsmond/bin/git-fsmond" "daemon" "/home/me/r"',
      ),
      service,
    );
    assert.ok(lines.includes(`Environment="GIT_FSMOND_SOCKET_UNIT=${s.name}.socket"`), service);
    assert.ok(lines.includes(`Requires=${s.name}.socket`));
    assert.ok(!/^Restart=/m.test(service));
  });

  test('specifiers, variables, quotes and backslashes survive quoting', () => {
    assert.equal(execWord('/a b/100%/$HOME/"q"\\'), '"/a b/100%%/$$HOME/\\"q\\"\\\\"');
    const { socket } = unitFiles(spec('/tmp/100%/.git'));
    assert.ok(socket.includes('ListenStream=/tmp/100%%/.git/fsmonitor--daemon.ipc'));
  });

  test('systemd-analyze verify accepts both units', {
    skip: hasAnalyze ? false : 'systemd-analyze not found (Debian package systemd)',
  }, () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fsmond-units-'));
    try {
      const gitDir = path.join(dir, 'my repo', '.git');
      fs.mkdirSync(gitDir, { recursive: true });
      const s = { ...spec(gitDir), command: [process.execPath, '/x.js', 'daemon', 'wt'] };
      const files = unitFiles(s);
      const socket = path.join(dir, `${s.name}.socket`);
      const service = path.join(dir, `${s.name}.service`);
      fs.writeFileSync(socket, files.socket);
      fs.writeFileSync(service, files.service);
      // Offline: no manager is asked, it parses and checks the files (the executable too).
      const r = spawnSync('systemd-analyze', ['verify', socket, service], {
        encoding: 'utf8',
      });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stderr.trim(), '');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('paths with control characters cannot go into a unit file', () => {
    assert.equal(unitSafe(spec('/tmp/ok/.git')), true);
    assert.equal(unitSafe(spec('/tmp/new\nline/.git')), false);
    assert.equal(unitSafe(spec('/tmp/tab\there/.git')), false);
  });
});

describe('mode decision', () => {
  const ipcWorks: ModeInputs = {
    forceHook: false,
    global: false,
    platform: 'linux',
    gitVersion: '2.55.0',
    gitIpc: true,
    manager: { reachable: true, why: 'systemd user manager is running' },
    unitUnsafe: false,
    foreign: null,
  };
  const cases: Array<[string, Partial<ModeInputs>, RegExp]> = [
    ['--hook', { forceHook: true }, /enable --hook/],
    ['--global', { global: true }, /per worktree/],
    ['old git', { gitIpc: false, gitVersion: '2.39.5' }, /git 2\.39\.5 .*2\.55/],
    ['macOS', { platform: 'darwin' }, /launchd .* not built/],
    [
      'no systemd',
      { manager: { reachable: false, why: 'no systemd user manager is reachable (offline)' } },
      /no systemd user manager is reachable \(offline\): without one, git would start its builtin/,
    ],
    ['odd path', { unitUnsafe: true }, /control characters/],
    ['foreign server', { foreign: 'pid 42' }, /pid 42 listens on the socket; not taking it over/],
  ];
  for (const [what, change, reason] of cases) {
    test(`${what}: hook mode, saying why`, () => {
      const d = decideMode({ ...ipcWorks, ...change });
      assert.equal(d.mode, 'hook');
      assert.match(d.reason, reason);
    });
  }
  test('git >= 2.55 and a systemd user manager: ipc', () => {
    const d = decideMode(ipcWorks);
    assert.equal(d.mode, 'ipc');
    assert.match(d.reason, /systemd --user holds the socket/);
  });
});
