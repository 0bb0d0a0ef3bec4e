import net from 'node:net';
import { withSocketAddress } from './socket-path.js';

/**
 * Connects to the Unix socket at `absPath` (any length). Rejects with the raw errno error
 * (ENOENT, ECONNREFUSED, EAGAIN when the backlog is full, ...) so that callers classify it.
 * The socket keeps a no-op 'error' listener: an EPIPE or ECONNRESET that lands between two of
 * the caller's steps must never become an uncaught exception (docs/linux-watching.md, trap T13).
 */
export function connectSocket(absPath: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    let socket: net.Socket;
    try {
      socket = withSocketAddress(absPath, (address) => net.connect({ path: address }));
    } catch (err) {
      reject(err);
      return;
    }
    socket.on('error', () => {});
    const onError = (err: Error) => {
      socket.destroy();
      reject(err);
    };
    socket.once('error', onError);
    socket.once('connect', () => {
      socket.off('error', onError);
      resolve(socket);
    });
  });
}

export function errnoCode(err: unknown): string | undefined {
  if (err && typeof err === 'object' && 'code' in err && typeof err.code === 'string') {
    return err.code;
  }
  return undefined;
}
