/** Errors the ipc part throws; callers (daemon, cli, hook shim) branch on their type or code. */

/** Another live server owns the socket, or is claiming it right now. Touching nothing is the fix. */
export class SocketInUseError extends Error {
  readonly socketPath: string;
  constructor(
    socketPath: string,
    message = `socket '${socketPath}' is already in use by a live server`,
  ) {
    super(message);
    this.name = 'SocketInUseError';
    this.socketPath = socketPath;
  }
}

/** The socket path cannot be used safely: a symlink or a user's file is in the way, etc. */
export class SocketPathError extends Error {
  readonly socketPath: string;
  constructor(socketPath: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SocketPathError';
    this.socketPath = socketPath;
  }
}

export type IpcClientErrorCode = 'not-found' | 'not-listening' | 'timeout' | 'protocol' | 'closed';

/**
 * A failed client exchange. 'not-found' and 'not-listening' mean no server: the caller may start
 * one. The others mean a server was reached but the exchange failed.
 */
export class IpcClientError extends Error {
  readonly code: IpcClientErrorCode;
  constructor(code: IpcClientErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'IpcClientError';
    this.code = code;
  }
}
