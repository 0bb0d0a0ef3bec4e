/**
 * Run by cli-filesystems.test.ts inside `unshare -U -r -m`: a repository on a tmpfs of our own,
 * then the real CLI on it once that tmpfs is made read-only, or out of inodes. Prints one JSON
 * line of facts (or {skip}).
 */
import { type SpawnSyncReturns, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { GIT_ENV, LAUNCHER, makeRepo } from './git.js';
import { namespaceMain } from './ns-child-main.js';
import { scratchDir } from './scratch.js';

function cli(wt: string, args: string[]): SpawnSyncReturns<string> {
  return spawnSync(LAUNCHER, args, {
    cwd: wt,
    env: { ...GIT_ENV, HOME: path.dirname(wt) },
    encoding: 'utf8',
    timeout: 60_000,
  });
}

const lines = (r: SpawnSyncReturns<string>) => `${r.stdout}${r.stderr}`.trim();

function mountTmpfs(options: string): string | { skip: string } {
  const mnt = path.join(scratchDir('fsmond-fs-'), 'mnt');
  fs.mkdirSync(mnt);
  const m = spawnSync('mount', ['-t', 'tmpfs', '-o', options, 'none', mnt], { encoding: 'utf8' });
  return m.status === 0 ? mnt : { skip: `cannot mount a tmpfs here: ${m.stderr.trim()}` };
}

/** A daemon runs, then its filesystem turns read-only: doctor must name that, not the cookie. */
async function readOnly(): Promise<Record<string, unknown>> {
  const mnt = mountTmpfs('size=64m');
  if (typeof mnt !== 'string') return mnt;
  const wt = makeRepo({ parent: mnt, monitor: false });
  // In the foreground, its output elsewhere: a detached daemon's stdout and stderr are its
  // log, a file open for writing, which would keep the remount below from happening.
  const daemon = spawn(LAUNCHER, ['run'], {
    cwd: wt,
    env: { ...GIT_ENV, HOME: mnt },
    stdio: 'ignore',
  });
  try {
    const deadline = Date.now() + 30_000;
    while (cli(wt, ['status']).status !== 0) {
      if (Date.now() > deadline) return { error: 'the daemon did not start watching' };
      await new Promise((r) => setTimeout(r, 100));
    }
    const r = spawnSync('mount', ['-o', 'remount,ro', mnt], { encoding: 'utf8' });
    if (r.status !== 0) return { skip: `cannot remount read-only: ${r.stderr.trim()}` };
    const doctorRunning = lines(cli(wt, ['doctor']));
    const stop = cli(wt, ['stop']);
    const startRo = cli(wt, ['start']);
    return {
      doctorRunning: doctorRunning.split('\n').find((l) => l.includes(' daemon: ')),
      stopCode: stop.status,
      startCode: startRo.status,
      startErr: startRo.stderr.trim(),
    };
  } finally {
    // Whatever happened: no daemon outlives the namespace's mounts.
    if (daemon.exitCode === null && daemon.signalCode === null) daemon.kill('SIGKILL');
  }
}

/** No inode left: start must say why the daemon exited, not only "see the log". */
async function noInodes(): Promise<Record<string, unknown>> {
  const mnt = mountTmpfs('size=64m,nr_inodes=400');
  if (typeof mnt !== 'string') return mnt;
  const wt = makeRepo({ parent: mnt, monitor: false });
  // A first run leaves the state dir and its log, as on any machine that used it before.
  if (cli(wt, ['start']).status !== 0 || cli(wt, ['stop']).status !== 0) {
    return { error: 'the first start and stop failed' };
  }
  const filler = path.join(mnt, 'filler');
  fs.mkdirSync(filler);
  try {
    for (let i = 0; i < 10_000; i++) fs.writeFileSync(path.join(filler, String(i)), '');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  }
  const start = cli(wt, ['start']);
  fs.rmSync(filler, { recursive: true, force: true });
  cli(wt, ['stop']);
  return { startCode: start.status, startErr: start.stderr.trim() };
}

namespaceMain({ readonly: readOnly, noinodes: noInodes });
