import { parseArgs } from 'node:util';
import { runFuzz } from './fuzzer.js';
import { DEFAULT_WEIGHTS } from './ops.js';

/**
 * `npm run fuzz -- --rounds N --seed S [--seeds 1,2,3] [--restarts] [--no-uc] [--keep-going]
 * [--weights op=W,...]`; `--help` lists the operations.
 */
const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '300' },
    seed: { type: 'string', default: '1' },
    seeds: { type: 'string' },
    restarts: { type: 'boolean', default: false },
    'no-uc': { type: 'boolean', default: false },
    'keep-going': { type: 'boolean', default: false },
    'max-ops': { type: 'string', default: '8' },
    weights: { type: 'string', default: '' },
    help: { type: 'boolean', default: false },
  },
});

if (values.help) {
  console.log(
    [
      'usage: npm run fuzz -- [--rounds N] [--seed S | --seeds S1,S2] [--restarts] [--no-uc]',
      '                       [--keep-going] [--max-ops N] [--weights op=W,op=W]',
      '  --restarts      also SIGKILL the daemon at random (restartDaemon=1)',
      '  --weights       override operation weights (0 disables one); defaults:',
      `    ${Object.entries(DEFAULT_WEIGHTS)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')}`,
    ].join('\n'),
  );
  process.exit(0);
}

const weights: Record<string, number> = values.restarts ? { restartDaemon: 1 } : {};
for (const kv of values.weights!.split(',').filter(Boolean)) {
  const [k, v] = kv.split('=');
  if (!k || !(k in DEFAULT_WEIGHTS) || !(Number(v) >= 0)) {
    console.error(`bad --weights entry ${JSON.stringify(kv)}`);
    process.exit(2);
  }
  weights[k] = Number(v);
}

const seeds = (values.seeds ?? values.seed!).split(',').map(Number);
let failed = 0;
let failedSeeds = 0;
for (const seed of seeds) {
  const t0 = Date.now();
  const r = await runFuzz({
    seed,
    rounds: Number(values.rounds),
    maxOpsPerRound: Number(values['max-ops']),
    untrackedCache: !values['no-uc'],
    keepGoing: values['keep-going'],
    weights,
    log: (l) => console.log(l),
  });
  failed += r.failures.length;
  if (r.failures.length) failedSeeds++;
  const ops = Object.entries(r.opCounts)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  console.log(
    `seed ${seed}: ${r.rounds} rounds, ${r.failures.length} failures, ${r.answers} answers ` +
      `(${r.trivialAnswers} trivial), ${r.restarts} restarts, ${((Date.now() - t0) / 1000).toFixed(1)} s`,
  );
  console.log(`  ops: ${ops}`);
}
console.log(`${seeds.length - failedSeeds} seeds passed, ${failedSeeds} failed`);
process.exit(failed ? 1 : 0);
