import net from 'node:net';
import path from 'node:path';
import * as afs from '../sys/fs-async.js';
import { type FileIdentity, sameFile } from '../sys/identity.js';
import { errnoCode } from './connect.js';
import { SocketPathError } from './errors.js';
import { acquireLock, unlinkIfSame } from './lock.js';
import { type PeerCredentials, peerCredentials } from './peer.js';
import { encodeMessage, PktLineDecoder } from './pktline.js';
import { adoptSocket, clearSocketPath, publishSocket } from './publish.js';
import { writeMessage } from './write-message.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface Reply {
  payload: Buffer[];
  /**
   * Runs once the connection is finished with: `delivered` is true when the whole response was
   * handed to the client's socket, false when the client went away first. `quit` should stop
   * the daemon either way, as git's does.
   */
  afterSend?: (delivered: boolean) => void;
}

export interface ServerOptions {
  /** Absolute path; any length (long paths go through withSocketAddress). */
  socketPath: string;
  /**
   * Gets the concatenated request payload, NUL bytes included, once it has fully arrived, and
   * who sent it (null where the platform cannot tell): the handler decides.
   */
  handler: (request: Buffer, peer: PeerCredentials | null) => Promise<Reply>;
  /** Default 64 KiB (a token is tiny); a bigger request drops the connection. */
  maxRequestBytes?: number;
  /** Default 5000: a client that has not sent a whole request by then is dropped. */
  requestTimeoutMs?: number;
  /**
   * Default 500: how often to check that the path still is our socket; 0: never by itself,
   * the owner calls verifySocket() on its own schedule.
   */
  stolenCheckMs?: number;
  /** Called once when the path no longer is our socket; the server has stopped accepting. */
  onStolen?: () => void;
  /**
   * A listening socket a service manager bound at socketPath and passed us (socket
   * activation): served as it is, never unlinked (the service manager owns the path).
   */
  inheritedFd?: number;
  log?: (level: LogLevel, msg: string) => void;
}

export interface IpcServer {
  readonly socketPath: string;
  /**
   * Stops accepting, drops connections that have not sent a whole request, lets requests in
   * progress finish (at most 2 s), then removes the socket if it still is ours. Idempotent.
   */
  close(): Promise<void>;
  readonly stolen: boolean;
  /** Open client connections. */
  connections(): number;
  /** Checks now that the path still is our socket (see ServerOptions.stolenCheckMs). */
  verifySocket(): Promise<void>;
}

const DEFAULT_MAX_REQUEST_BYTES = 64 * 1024;
const DEFAULT_REQUEST_TIMEOUT_MS = 5_000;
const DEFAULT_STOLEN_CHECK_MS = 500;
const CLOSE_DRAIN_MS = 2_000;
/** git listens with 50; a burst of hook invocations must not see EAGAIN. */
const BACKLOG = 128;

/**
 * Claims the socket (see publish.ts for the ownership rules) and serves one request per
 * connection. Rejects with SocketInUseError when a live server owns the path, SocketPathError
 * when the path cannot be used safely.
 */
export async function startServer(opts: ServerOptions): Promise<IpcServer> {
  if (!path.isAbsolute(opts.socketPath)) {
    throw new SocketPathError(opts.socketPath, `socket path '${opts.socketPath}' is not absolute`);
  }
  const log = opts.log ?? (() => {});
  const server = new UnixServer(opts, log);
  const adopting = opts.inheritedFd !== undefined;
  try {
    const identity = adopting
      ? await adoptSocket(server.net, opts.socketPath, opts.inheritedFd!, BACKLOG)
      : await claimSocket(server.net, opts.socketPath, log);
    server.started(identity, !adopting);
  } catch (err) {
    server.abandon();
    throw err;
  }
  log('debug', `listening on '${opts.socketPath}'`);
  return server;
}

async function claimSocket(
  net: net.Server,
  socketPath: string,
  log: (level: LogLevel, msg: string) => void,
): Promise<FileIdentity> {
  const lock = await acquireLock(socketPath, (msg) => log('info', msg));
  try {
    await clearSocketPath(socketPath);
    return await publishSocket(net, socketPath, BACKLOG);
  } finally {
    await lock.release();
  }
}

interface Connection {
  socket: net.Socket;
  /** A whole request arrived and its answer is not finished yet. */
  busy: boolean;
}

class UnixServer implements IpcServer {
  readonly net: net.Server;
  readonly socketPath: string;
  private readonly opts: ServerOptions;
  private readonly log: (level: LogLevel, msg: string) => void;
  private readonly conns = new Set<Connection>();
  private readonly netClosed: Promise<void>;
  private identity: FileIdentity | undefined;
  /** We bound the path (not a service manager): ours to remove on close. */
  private ownsPath = false;
  private state: 'starting' | 'listening' | 'stolen' | 'closed' = 'starting';
  private accepting = true;
  private timer: NodeJS.Timeout | undefined;
  private checking = false;
  private closing: Promise<void> | undefined;
  private idleWaiters: Array<() => void> = [];

  constructor(opts: ServerOptions, log: (level: LogLevel, msg: string) => void) {
    this.opts = opts;
    this.log = log;
    this.socketPath = opts.socketPath;
    // allowHalfOpen: a client may shut down its write side after the request and still read.
    this.net = net.createServer({ allowHalfOpen: true }, (socket) => this.onConnection(socket));
    this.netClosed = new Promise((resolve) => this.net.once('close', () => resolve()));
    // Accept errors (EMFILE...) must not crash the daemon.
    this.net.on('error', (err) => this.log('error', `ipc server error: ${err.message}`));
  }

  get stolen(): boolean {
    return this.state === 'stolen';
  }

  connections(): number {
    return this.conns.size;
  }

  started(identity: FileIdentity, ownsPath: boolean): void {
    this.identity = identity;
    this.ownsPath = ownsPath;
    this.state = 'listening';
    const every = this.opts.stolenCheckMs ?? DEFAULT_STOLEN_CHECK_MS;
    if (every <= 0) return;
    this.timer = setInterval(() => void this.verifySocket(), every);
    this.timer.unref();
  }

  /** Start-up failed: release the listening handle without touching the socket path. */
  abandon(): void {
    this.state = 'closed';
    this.stopAccepting();
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    const wasStolen = this.state === 'stolen';
    this.state = 'closed';
    clearInterval(this.timer);
    this.stopAccepting();
    for (const conn of this.conns) if (!conn.busy) conn.socket.destroy();
    await this.busyDrained(CLOSE_DRAIN_MS);
    for (const conn of this.conns) conn.socket.destroy();
    await this.netClosed;
    if (!wasStolen && this.ownsPath && this.identity)
      await unlinkIfSame(this.socketPath, this.identity);
    this.log('debug', `stopped listening on '${this.socketPath}'`);
  }

  private stopAccepting(): void {
    if (!this.accepting) return;
    this.accepting = false;
    // libuv unlinks the name it bound on close; that is our private temporary name, already
    // gone (publish.ts), so this never removes the real path, whoever owns it now.
    this.net.close();
  }

  /** Stops accepting (and calls onStolen) when the path no longer is our socket. */
  async verifySocket(): Promise<void> {
    if (this.checking || this.state !== 'listening' || !this.identity) return;
    this.checking = true;
    let reason: string | undefined;
    try {
      const st = await afs.lstat(this.socketPath);
      if (!st.isSocket()) reason = 'it is no longer a socket';
      else if (!sameFile(st, this.identity)) {
        reason = 'another socket replaced it';
      }
    } catch (err) {
      reason = errnoCode(err) === 'ENOENT' ? 'it was removed' : `lstat failed: ${String(err)}`;
    } finally {
      this.checking = false;
    }
    if (reason === undefined || this.state !== 'listening') return;
    this.state = 'stolen';
    clearInterval(this.timer);
    this.stopAccepting();
    this.log('warn', `socket '${this.socketPath}' was stolen (${reason}); stopped accepting`);
    try {
      this.opts.onStolen?.();
    } catch (err) {
      this.log('error', `onStolen failed: ${String(err)}`);
    }
  }

  private onConnection(socket: net.Socket): void {
    // A client that vanishes must cost us one socket, not the process (docs/linux-watching.md#t13).
    socket.on('error', (err) => this.log('debug', `client connection error: ${err.message}`));
    if (this.state === 'closed') {
      socket.destroy();
      return;
    }
    const conn: Connection = { socket, busy: false };
    this.conns.add(conn);
    const decoder = new PktLineDecoder({
      maxMessageBytes: this.opts.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES,
    });
    const timeoutMs = this.opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    // A deadline for the whole request, not an idle timer: a byte every few seconds must not
    // keep a connection alive forever.
    const deadline = setTimeout(() => {
      this.log('warn', `dropping client: no whole request after ${timeoutMs} ms`);
      socket.destroy();
    }, timeoutMs);
    deadline.unref();

    const onData = (chunk: Buffer) => {
      let request: Buffer | undefined;
      try {
        request = decoder.push(chunk);
      } catch (err) {
        this.log('warn', `dropping client: ${(err as Error).message}`);
        socket.destroy();
        return;
      }
      if (request === undefined) return;
      // One request per connection: stop reading; trailing bytes are ignored.
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.pause();
      clearTimeout(deadline);
      conn.busy = true;
      this.respond(conn, request).catch((err) => {
        this.log('error', `responding failed: ${err instanceof Error ? err.stack : err}`);
        socket.destroy();
      });
    };
    const onEnd = () => {
      if (decoder.bytesReceived === 0) {
        this.log('debug', 'ping connection closed'); // is_another_server_alive, state probes
      } else {
        this.log('warn', `dropping client: EOF after ${decoder.bytesReceived} bytes, no flush`);
      }
      socket.destroy();
    };
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.once('close', () => {
      clearTimeout(deadline);
      this.conns.delete(conn);
      this.notifyIdle();
    });
  }

  private async respond(conn: Connection, request: Buffer): Promise<void> {
    let reply: Reply;
    let frames: Buffer[];
    try {
      reply = await this.opts.handler(request, peerCredentials(conn.socket));
      frames = encodeMessage(reply.payload);
    } catch (err) {
      this.log('error', `request handler failed: ${err instanceof Error ? err.stack : err}`);
      conn.busy = false;
      conn.socket.destroy();
      this.notifyIdle();
      return;
    }
    const delivered = await writeMessage(conn.socket, frames);
    if (!delivered) this.log('debug', 'client went away before reading the whole response');
    conn.socket.destroy(); // our data is in the peer's queue already; do not wait for its FIN
    conn.busy = false;
    this.notifyIdle();
    try {
      reply.afterSend?.(delivered);
    } catch (err) {
      this.log('error', `afterSend failed: ${err instanceof Error ? err.stack : err}`);
    }
  }

  private busyCount(): number {
    let n = 0;
    for (const conn of this.conns) if (conn.busy) n++;
    return n;
  }

  private notifyIdle(): void {
    if (this.idleWaiters.length === 0 || this.busyCount() > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const wake of waiters) wake();
  }

  private busyDrained(boundMs: number): Promise<void> {
    if (this.busyCount() === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, boundMs);
      this.idleWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
