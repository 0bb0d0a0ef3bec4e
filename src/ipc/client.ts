import type net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import * as afs from '../sys/fs-async.js';
import { connectSocket, errnoCode } from './connect.js';
import { IpcClientError } from './errors.js';
import { type PeerCredentials, peerCredentials } from './peer.js';
import { encodeMessage, PktLineDecoder } from './pktline.js';

export type SocketState = 'listening' | 'not-listening' | 'not-found' | 'invalid';

export interface RequestOptions {
  /** Bounds the whole exchange, connect included. Default 10000. */
  timeoutMs?: number;
  /** How long to keep retrying while the server's backlog is full (EAGAIN). Default 1000. */
  busyRetryMs?: number;
  /**
   * Runs the exchange with this as the process's cwd, restored after. The daemon answers a
   * token only to a client in its worktree root (where git and the shims run); other clients
   * in this process see the cwd change meanwhile, so such exchanges take turns.
   */
  fromDir?: string;
}

/** A response is a token plus paths: big, but not this big. */
const MAX_RESPONSE_BYTES = 1024 * 1024 * 1024;
const BUSY_RETRY_STEP_MS = 20;

/**
 * What is at `socketPath` (absolute), as git's ipc_get_active_state sees it. A successful
 * connect is closed without sending anything: servers take that as a ping.
 */
export async function socketState(socketPath: string): Promise<SocketState> {
  try {
    const st = await afs.lstat(socketPath);
    if (!st.isSocket()) return 'invalid';
  } catch (err) {
    const code = errnoCode(err);
    return code === 'ENOENT' || code === 'ENOTDIR' ? 'not-found' : 'invalid';
  }
  try {
    (await connectSocket(socketPath)).destroy();
    return 'listening';
  } catch (err) {
    switch (errnoCode(err)) {
      case 'ECONNREFUSED':
        return 'not-listening';
      case 'ENOENT':
      case 'ENOTDIR':
        return 'not-found';
      case 'EAGAIN': // backlog full: alive, just busy
        return 'listening';
      default:
        return 'invalid';
    }
  }
}

/**
 * Who listens at `socketPath`: connects (a ping to our servers) and reads the listener's
 * credentials, which the kernel records at listen() time and which need no answer, so this works
 * on a stopped or hung server too. Null when nothing accepts or the platform cannot tell.
 */
export async function listenerOf(socketPath: string): Promise<PeerCredentials | null> {
  let socket: net.Socket;
  try {
    socket = await connectSocket(socketPath);
  } catch {
    return null;
  }
  try {
    return peerCredentials(socket);
  } finally {
    socket.destroy();
  }
}

/**
 * Sends one request and returns the concatenated response payload. Rejects with an
 * IpcClientError: 'not-found' (no socket), 'not-listening' (a dead socket: do not wait for it,
 * unlike git, because nothing will revive it by itself), 'timeout' (whole exchange, or the
 * backlog stayed full), 'protocol' (malformed response), 'closed' (EOF or reset before the flush).
 */
export async function sendRequest(
  socketPath: string,
  payload: Buffer,
  opts: RequestOptions = {},
): Promise<Buffer> {
  const dir = opts.fromDir;
  if (dir === undefined) return sendNow(socketPath, payload, opts);
  const mine = inDirTurn.then(async () => {
    const saved = process.cwd();
    process.chdir(dir);
    try {
      return await sendNow(socketPath, payload, opts);
    } finally {
      process.chdir(saved);
    }
  });
  inDirTurn = mine.catch(() => {});
  return mine;
}

let inDirTurn: Promise<unknown> = Promise.resolve();

async function sendNow(socketPath: string, payload: Buffer, opts: RequestOptions): Promise<Buffer> {
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  const socket = await connectRetryingBusy(socketPath, opts.busyRetryMs ?? 1_000, deadline);
  return exchange(socket, payload, deadline);
}

async function connectRetryingBusy(
  socketPath: string,
  busyRetryMs: number,
  deadline: number,
): Promise<net.Socket> {
  const giveUp = Math.min(deadline, Date.now() + busyRetryMs);
  for (;;) {
    try {
      return await connectSocket(socketPath);
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'EAGAIN' && Date.now() < giveUp) {
        await sleep(Math.min(BUSY_RETRY_STEP_MS, Math.max(1, giveUp - Date.now())));
        continue;
      }
      throw connectError(socketPath, code, err);
    }
  }
}

function connectError(
  socketPath: string,
  code: string | undefined,
  cause: unknown,
): IpcClientError {
  const detail = cause instanceof Error ? cause.message : String(cause);
  switch (code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return new IpcClientError('not-found', `no socket at '${socketPath}'`, { cause });
    case 'ECONNREFUSED':
      return new IpcClientError('not-listening', `nothing listens on '${socketPath}'`, { cause });
    case 'EAGAIN':
      return new IpcClientError('timeout', `server at '${socketPath}' stayed busy`, { cause });
    case undefined: // SocketPathError: the path cannot name a socket at all
      return new IpcClientError('not-found', detail, { cause });
    default:
      return new IpcClientError('not-listening', `cannot connect to '${socketPath}': ${detail}`, {
        cause,
      });
  }
}

function exchange(socket: net.Socket, payload: Buffer, deadline: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const decoder = new PktLineDecoder({ maxMessageBytes: MAX_RESPONSE_BYTES });
    let settled = false;
    const finish = (err: IpcClientError | undefined, response?: Buffer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(response!);
    };
    const timer = setTimeout(
      () => finish(new IpcClientError('timeout', 'no complete response in time')),
      Math.max(0, deadline - Date.now()),
    );
    socket.on('data', (chunk: Buffer) => {
      try {
        const response = decoder.push(chunk);
        if (response) finish(undefined, response);
      } catch (err) {
        finish(new IpcClientError('protocol', (err as Error).message, { cause: err }));
      }
    });
    const closed = (why: string) => () =>
      finish(new IpcClientError('closed', `connection ${why} before the end of the response`));
    socket.on('end', closed('ended'));
    socket.on('close', closed('closed'));
    socket.on('error', (err) =>
      finish(new IpcClientError('closed', `connection failed: ${err.message}`, { cause: err })),
    );
    // No half-close after the request: servers that do not allow half-open sockets would end
    // the connection before answering.
    for (const buffer of encodeMessage(payload)) socket.write(buffer);
  });
}
