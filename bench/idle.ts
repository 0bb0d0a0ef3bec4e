/**
 * CPU an idle daemon spends, for a one-directory repository: the daemon is started by a real
 * `git status` through the C shim (or the Node one), left alone past its active minute, then
 * measured for --seconds; beside it, in the same window, a bare `node` process that only waits.
 *   node dist/bench/idle.js [--seconds 60] [--settle 65]
 * Information only: the exit code never depends on the figures.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { C_SHIM, NODE_SHIM } from '../src/cli/config.js';
import { REQUEST } from '../src/contract/index.js';
import { sendRequest } from '../src/ipc/index.js';
import { loadAverage, sleep } from './measure.js';
import { git } from './synth.js';

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const seconds = arg('seconds', 60);
const settle = arg('settle', 65);

/** utime + stime of a process, in ms (clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

async function main(): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'fsmond-idle-'));
  const shim = fs.existsSync(C_SHIM) ? C_SHIM : NODE_SHIM;
  try {
    git(root, ['init', '-q']);
    fs.writeFileSync(path.join(root, 'a.txt'), 'a\n');
    git(root, ['add', '.']);
    git(root, ['-c', 'user.name=b', '-c', 'user.email=b@b', 'commit', '-qm', 'a']);
    git(root, ['config', 'core.fsmonitor', shim]);
    git(root, ['config', 'core.fsmonitorHookVersion', '2']);
    git(root, ['status', '--porcelain']);
    const socket = path.join(root, '.git', 'fsmonitor--daemon.ipc');
    const status = JSON.parse(
      (await sendRequest(socket, Buffer.from(REQUEST.status), { timeoutMs: 10_000 })).toString(),
    );
    const bare = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1 << 30)'], {
      stdio: 'ignore',
    });
    console.log(`daemon pid ${status.pid}; settling ${settle} s past its last query...`);
    await sleep(settle * 1000);
    const d0 = cpuMs(status.pid);
    const b0 = cpuMs(bare.pid!);
    await sleep(seconds * 1000);
    const daemon = ((cpuMs(status.pid) - d0) * 60) / seconds;
    const baseline = ((cpuMs(bare.pid!) - b0) * 60) / seconds;
    bare.kill();
    console.log(`idle CPU over ${seconds} s (load ${loadAverage()}), per minute:`);
    console.log(`  git-fsmond daemon  ${daemon.toFixed(0)} ms   (target <= 10 ms)`);
    console.log(`  bare node process  ${baseline.toFixed(0)} ms   (same window)`);
    await sendRequest(socket, Buffer.from(REQUEST.quit), { timeoutMs: 10_000 }).catch(() => {});
  } finally {
    await sleep(500);
    fs.rmSync(root, { recursive: true, force: true });
  }
}

void main();
