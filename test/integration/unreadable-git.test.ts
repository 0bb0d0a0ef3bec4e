/**
 * Real git, a real daemon through the shim, directories nobody may list: a chmod 000 one
 * (ignored and not), and a 0111 one whose tracked files are modified, deleted and re-created
 * by name while it stays unreadable. `git status` through the monitor must equal the oracle
 * every round, and the answers stay incremental: one unreadable directory no longer makes
 * every git command wait and rescan. Runs as an unprivileged uid: root bypasses the checks.
 */
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { childResult, runUnprivileged } from '../helpers/lifecycle-ns.js';

const CHILD = join(dirname(fileURLToPath(import.meta.url)), '../helpers/unreadable-git-child.js');

interface Round {
  name: string;
  same: boolean;
  incremental: boolean;
  asked: boolean;
}

test('git status with unreadable directories equals the oracle, incrementally', async (t) => {
  const res = await childResult(t, runUnprivileged(CHILD, [], 120_000));
  if (!res) return;
  const rounds = res.rounds as Round[];
  assert.equal(rounds.length, 22);
  for (const r of rounds) {
    assert.ok(r.same, `round '${r.name}': ${JSON.stringify(r)}`);
    assert.ok(r.asked, `round '${r.name}': git asked the daemon`);
    assert.ok(r.incremental, `round '${r.name}': the answer was incremental, not /`);
  }
  assert.equal(res.rescans, 0);
  assert.equal(res.unwatchable, 1, 'only the directory made with mode 000 is left');
  assert.deepEqual(res.sample, ['fresh']);
  assert.match(String(res.doctorDaemon), /cannot read 1 directory \('fresh'\): git re-examines it/);
});
