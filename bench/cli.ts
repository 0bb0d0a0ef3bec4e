/**
 * Wall-clock times of the CLI's daemon control on a small repository (`node dist/bench/cli.js
 * [--rounds N]`): `stop` of an answering daemon, `stop` with none running, and `status` and
 * `stop` on a daemon stopped with SIGSTOP (which must not answer, so the probe's wait counts).
 * Each includes Node's start-up and the CLI's git calls, as a user sees it.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fmtMs, loadAverage, renderTable, stats } from './measure.js';
import { LAUNCHER } from './monitor.js';

const rounds = Number(process.argv[process.argv.indexOf('--rounds') + 1]) || 5;
const repo = fs.mkdtempSync(path.join(os.tmpdir(), 'fsmond-bench-cli-'));
const git = (...args: string[]) => spawnSync('git', args, { cwd: repo, stdio: 'ignore' });
git('init', '-q');
fs.writeFileSync(path.join(repo, 'a'), 'a\n');
git('add', 'a');
git('-c', 'user.name=b', '-c', 'user.email=b@b', 'commit', '-qm', 'init');

const cli = (...args: string[]) => {
  const t0 = performance.now();
  const r = spawnSync(LAUNCHER, args, { cwd: repo, encoding: 'utf8', timeout: 60_000 });
  return { ms: performance.now() - t0, status: r.status, out: r.stdout };
};
const pidOf = () => Number(JSON.parse(cli('status', '--json').out).pid);

const times: Record<string, number[]> = {
  'stop (answering daemon)': [],
  'stop (none running)': [],
  'status (SIGSTOPped daemon)': [],
  'stop (SIGSTOPped daemon)': [],
};
try {
  for (let i = 0; i < rounds; i++) {
    cli('start');
    times['stop (answering daemon)']!.push(cli('stop').ms);
    times['stop (none running)']!.push(cli('stop').ms);
    cli('start');
    process.kill(pidOf(), 'SIGSTOP');
    times['status (SIGSTOPped daemon)']!.push(cli('status').ms);
    times['stop (SIGSTOPped daemon)']!.push(cli('stop').ms);
  }
} finally {
  cli('stop');
  fs.rmSync(repo, { recursive: true, force: true });
}
const rows = Object.entries(times).map(([what, ms]) => {
  const s = stats(ms);
  return [what, fmtMs(s.median), fmtMs(s.max)];
});
console.log(renderTable(['command', 'median', 'max'], rows));
console.log(`${rounds} rounds; load average ${loadAverage()}`);
