/** Errors the ipc part throws; callers (daemon, cli, hook shim) branch on their type or code. */

type ErrorOptions = { cause?: unknown };

/** Names every ipc error after its class, so a log line says which one it was. */
class IpcError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Another live server owns the socket, or is claiming it right now. Touching nothing is the fix. */
export class SocketInUseError extends IpcError {
  constructor(
    readonly socketPath: string,
    message = `socket '${socketPath}' is already in use by a live server`,
  ) {
    super(message);
  }
}

/** The socket path cannot be used safely: a symlink or a user's file is in the way, etc. */
export class SocketPathError extends IpcError {
  constructor(
    readonly socketPath: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export type IpcClientErrorCode = 'not-found' | 'not-listening' | 'timeout' | 'protocol' | 'closed';

/**
 * A failed client exchange. 'not-found' and 'not-listening' mean no server: the caller may start
 * one. The others mean a server was reached but the exchange failed.
 */
export class IpcClientError extends IpcError {
  constructor(
    readonly code: IpcClientErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
