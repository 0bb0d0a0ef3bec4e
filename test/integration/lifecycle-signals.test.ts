/**
 * SIGTERM and SIGINT stop the daemon cleanly (socket removed, reason logged, exit 0). After a
 * SIGKILL, whatever it left (a dead socket, a stale `<socket>.lock`) is reclaimed by the next
 * start, which a plain git command makes.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { describe, test } from 'node:test';
import {
  gitDirOf,
  makeRepo,
  socketOf,
  statusAt,
  statusOracle,
  statusWithMonitor,
  stopDaemon,
} from '../helpers/git.js';
import { exitAfter, readLog, trackForCleanup } from '../helpers/lifecycle-util.js';
import { scratchDir } from '../helpers/scratch.js';
import { waitFor } from '../helpers/wait.js';

const track = trackForCleanup();

async function setup() {
  const wt = makeRepo({ parent: scratchDir('fsmond-signals-') });
  const d = await track.serve(wt);
  return { wt, sock: socketOf(wt), d };
}

describe('signals', () => {
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    test(`${sig}: a clean stop, socket removed`, async (t) => {
      const { wt, sock, d } = await setup();
      const t0 = Date.now();
      d.child.kill(sig);
      const e = await exitAfter(d, t0);
      t.diagnostic(`exited ${e.ms} ms after ${sig}`);
      assert.deepEqual([e.code, e.signal], [0, null]);
      assert.ok(!fs.existsSync(sock), 'socket removed');
      assert.ok(!fs.existsSync(`${sock}.lock`), 'no lock left');
      assert.match(readLog(gitDirOf(wt)), new RegExp(`shutting down: received ${sig}`));
    });
  }

  test('after SIGKILL the next start reclaims the dead socket and a stale lock', async () => {
    const { wt, sock, d } = await setup();
    statusWithMonitor(wt);
    d.child.kill('SIGKILL');
    await d.exited;
    assert.ok(fs.lstatSync(sock).isSocket(), 'the dead socket is still there');
    // As if it had died while claiming the socket: a lock with a dead pid, a minute old.
    fs.writeFileSync(`${sock}.lock`, '999999999\n', { mode: 0o600 });
    const old = new Date(Date.now() - 60_000);
    fs.utimesSync(`${sock}.lock`, old, old);
    fs.writeFileSync(`${wt}/src/a.txt`, 'changed while no daemon ran\n');
    // git's command starts a new daemon through the shim; its answer is `/`, so status is right.
    assert.equal(statusWithMonitor(wt), statusOracle(wt));
    await waitFor('a new daemon', async () => {
      const s = await statusAt(sock);
      return s !== null && s.pid !== d.pid && s.watching === true;
    });
    assert.ok(!fs.existsSync(`${sock}.lock`), 'the stale lock was reclaimed');
    assert.match(readLog(gitDirOf(wt)), /removed stale lock/);
    fs.writeFileSync(`${wt}/src/a.txt`, 'changed again\n');
    assert.equal(statusWithMonitor(wt), statusOracle(wt));
    await stopDaemon(wt);
  });
});
