/** Shared by the ipc tests and the fixture server they spawn. */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { waitFor, withHangGuard } from './wait.js';

/** Deterministic bytes that differ at every offset of a packet, so misplaced slices show. */
export function pattern(n: number, seed = 0): Buffer {
  const out = Buffer.allocUnsafe(n);
  let x = (seed * 2654435761 + 12345) >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

export function reversed(b: Buffer): Buffer {
  return Buffer.from(b).reverse();
}

/** Creates nested directories under `base` until the returned dir is at least `minBytes` long. */
export function deepDir(base: string, minBytes: number): string {
  let dir = base;
  let i = 0;
  while (Buffer.byteLength(dir) < minBytes) {
    dir = path.join(dir, `level-${i++}-${'d'.repeat(40)}`);
  }
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

export interface RawResult {
  data: Buffer;
  error?: string;
}

/**
 * Writes `bytes` on a fresh connection (then half-closes if `end`) and collects whatever comes
 * back until the server closes the connection.
 */
export function rawExchange(
  socketPath: string,
  bytes: Buffer | string,
  opts: { end?: boolean } = {},
): Promise<RawResult> {
  const done = new Promise<RawResult>((resolve) => {
    const parts: Buffer[] = [];
    let error: string | undefined;
    const sock = net.connect({ path: socketPath }, () => {
      sock.write(bytes);
      if (opts.end) sock.end();
    });
    sock.on('data', (b) => parts.push(b));
    sock.on('error', (err: NodeJS.ErrnoException) => {
      error = err.code ?? err.message;
    });
    sock.on('close', () => resolve({ data: Buffer.concat(parts), error }));
  });
  return withHangGuard(
    `server closing the connection after ${JSON.stringify(String(bytes).slice(0, 20))}`,
    done,
  );
}

export const FIXTURE = fileURLToPath(new URL('./ipc-fixture-server.js', import.meta.url));

export interface Fixture {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the exit code (or signal name). */
  exited: Promise<number | string>;
}

/** Runs the fixture server in another process. */
export function spawnFixture(socketPath: string, args: string[] = []): Fixture {
  const child = spawn(process.execPath, [FIXTURE, socketPath, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (b) => {
    out += b;
  });
  child.stderr!.on('data', (b) => {
    err += b;
  });
  const exited = new Promise<number | string>((resolve) => {
    child.on('close', (code, signal) => resolve(code ?? signal ?? 'unknown'));
  });
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** Spawns the fixture and waits until it listens; kills it when the test ends. */
export async function startFixtureServer(
  t: TestContext,
  socketPath: string,
  args: string[] = [],
): Promise<Fixture> {
  const fx = spawnFixture(socketPath, args);
  t.after(async () => {
    if (fx.child.exitCode === null && fx.child.signalCode === null) {
      fx.child.kill('SIGKILL');
      await fx.exited;
    }
  });
  const ready = waitFor('fixture ready', () => fx.stdout().includes('ready\n'));
  const died = fx.exited.then((code) => {
    throw new Error(`fixture exited (${code}) before ready: ${fx.stderr()}`);
  });
  await Promise.race([ready, died]);
  return fx;
}

/**
 * Leaves a dead socket (a socket inode nobody listens on) at `socketPath`, as a server killed
 * with SIGKILL does: libuv unlinks the bound name on close, but a second hard link survives.
 */
export async function makeDeadSocket(socketPath: string): Promise<void> {
  const bound = `${socketPath}.bound`;
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ path: bound }, resolve);
  });
  fs.linkSync(bound, socketPath);
  await new Promise<void>((resolve) => server.close(() => resolve()));
}
