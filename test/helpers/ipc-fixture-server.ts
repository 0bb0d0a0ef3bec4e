/**
 * A server in another process, for the ipc tests:
 *   node dist/test/helpers/ipc-fixture-server.js <socket> [--stolen-check=MS]
 *        [--request-timeout=MS] [--max-request=BYTES] [--block-until=FILE]
 * Requests: `quit` (empty answer, then close and exit 0), `pid`, `big:<n>` (n pattern bytes in
 * odd-sized chunks); anything else is echoed reversed.
 * Prints `ready` once listening; exits 3 on SocketInUseError, 4 when the socket was stolen,
 * 5 on SocketPathError. `--block-until` blocks the event loop after `ready` until FILE exists,
 * so that connections pile up in the kernel backlog.
 */
import fs from 'node:fs';
import { type Reply, SocketInUseError, SocketPathError, startServer } from '../../src/ipc/index.js';
import { pattern, reversed } from './ipc-util.js';

const [socketPath, ...flags] = process.argv.slice(2);
if (!socketPath) {
  // `node --test dist/test/` also runs every file under a `test` directory, this one included:
  // without arguments there is nothing to serve, and that is not a failure.
  process.exit(0);
}
const option = (name: string): string | undefined =>
  flags.find((f) => f.startsWith(`--${name}=`))?.slice(name.length + 3);
const numberOption = (name: string): number | undefined => {
  const v = option(name);
  return v === undefined ? undefined : Number(v);
};

async function handle(request: Buffer): Promise<Reply> {
  const text = request.toString('latin1');
  if (text === 'quit') {
    return { payload: [], afterSend: () => void server.close().then(() => process.exit(0)) };
  }
  if (text === 'pid') return { payload: [Buffer.from(String(process.pid))] };
  if (text.startsWith('big:')) {
    const whole = pattern(Number(text.slice(4)), 7);
    const chunks: Buffer[] = [];
    for (let pos = 0, step = 1; pos < whole.length; pos += step, step = step * 7 + 13) {
      chunks.push(whole.subarray(pos, Math.min(whole.length, pos + step)));
    }
    return { payload: chunks };
  }
  return { payload: [reversed(request)] };
}

let server: Awaited<ReturnType<typeof startServer>>;
try {
  server = await startServer({
    socketPath: socketPath!,
    handler: handle,
    stolenCheckMs: numberOption('stolen-check'),
    requestTimeoutMs: numberOption('request-timeout'),
    maxRequestBytes: numberOption('max-request'),
    onStolen: () => {
      process.stdout.write('stolen\n');
      void server.close().then(() => process.exit(4));
    },
    log: (level, msg) => {
      if (level !== 'debug') process.stderr.write(`${level}: ${msg}\n`);
    },
  });
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`);
  if (err instanceof SocketInUseError) process.exit(3);
  if (err instanceof SocketPathError) process.exit(5);
  process.exit(1);
}
process.stdout.write('ready\n');

const blockUntil = option('block-until');
if (blockUntil) {
  const cell = new Int32Array(new SharedArrayBuffer(4));
  while (!fs.existsSync(blockUntil)) Atomics.wait(cell, 0, 0, 10);
}
