import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
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
} from '../helpers/git.js';

const BOUND = 2000;
const ROUNDS = 40;
const FILES_PER_ROUND = 500;

let wt: string;
before(async () => {
  wt = makeRepo();
  git(wt, ['config', 'fsmond.maxRetainedPaths', String(BOUND)]);
  await startRealDaemon(wt);
});
after(() => stopDaemon(wt));

async function query(token: string): Promise<string[]> {
  const raw = await sendRequest(socketOf(wt), Buffer.from(token), { fromDir: wt });
  return raw.toString('latin1').split('\0');
}

test('memory stays bounded under long churn while git keeps asking with an old token', async () => {
  const oldToken = (await query('x'))[0]!;
  let recent = oldToken;
  let maxRetained = 0;
  let oldTokenWentTrivial = false;
  const dir = path.join(wt, 'churn');
  fs.mkdirSync(dir);
  for (let round = 0; round < ROUNDS; round++) {
    // Every round writes names never seen before, so nothing deduplicates away.
    for (let i = 0; i < FILES_PER_ROUND; i++) {
      fs.writeFileSync(path.join(dir, `r${round}-${i}`), `${i}\n`);
    }
    fs.rmSync(dir, { recursive: true });
    fs.mkdirSync(dir);
    // The old token is never advanced, as when git cannot write its index.
    const oldAnswer = await query(oldToken);
    if (oldAnswer[1] === '/') oldTokenWentTrivial = true;
    else assert.ok(!oldTokenWentTrivial, 'once truncated, an old token never gets a list again');
    const recentAnswer = await query(recent);
    assert.notEqual(recentAnswer[1], '/', `a recent token keeps getting lists (round ${round})`);
    assert.ok(recentAnswer.includes(`churn/r${round}-0`), 'and they hold this round');
    recent = recentAnswer[0]!;
    const s = (await daemonStatus(wt))!;
    maxRetained = Math.max(maxRetained, s.retainedPaths as number);
  }
  const total = ROUNDS * FILES_PER_ROUND;
  assert.ok(maxRetained <= BOUND, `retained ${maxRetained} paths, bound ${BOUND}`);
  assert.ok(oldTokenWentTrivial, `${total} changes exceed the bound, so the old token got /`);
  assert.equal(statusWithMonitor(wt), statusOracle(wt));
});
