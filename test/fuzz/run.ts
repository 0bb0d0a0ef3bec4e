import { parseArgs } from 'node:util';
import { runFuzz } from './fuzzer.js';

/** `npm run fuzz -- --rounds N --seed S [--seeds 1,2,3] [--restarts] [--no-uc] [--keep-going]` */
const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '300' },
    seed: { type: 'string', default: '1' },
    seeds: { type: 'string' },
    restarts: { type: 'boolean', default: false },
    'no-uc': { type: 'boolean', default: false },
    'keep-going': { type: 'boolean', default: false },
    'max-ops': { type: 'string', default: '8' },
  },
});

const seeds = (values.seeds ?? values.seed!).split(',').map(Number);
let failed = 0;
for (const seed of seeds) {
  const t0 = Date.now();
  const r = await runFuzz({
    seed,
    rounds: Number(values.rounds),
    maxOpsPerRound: Number(values['max-ops']),
    untrackedCache: !values['no-uc'],
    keepGoing: values['keep-going'],
    weights: values.restarts ? { restartDaemon: 1 } : {},
    log: (l) => console.log(l),
  });
  failed += r.failures.length;
  const ops = Object.entries(r.opCounts)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  console.log(
    `seed ${seed}: ${r.rounds} rounds, ${r.failures.length} failures, ${r.answers} answers ` +
      `(${r.trivialAnswers} trivial), ${r.restarts} restarts, ${((Date.now() - t0) / 1000).toFixed(1)} s`,
  );
  console.log(`  ops: ${ops}`);
}
console.log(`${seeds.length - (failed ? 1 : 0)} passed, ${failed ? 1 : 0} failed`);
process.exit(failed ? 1 : 0);
