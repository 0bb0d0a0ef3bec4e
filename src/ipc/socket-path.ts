import path from 'node:path';
import { SocketPathError } from './errors.js';

/**
 * Longest socket path the kernel takes: sun_path is 108 bytes including the NUL. Node (libuv
 * 1.46) silently truncates longer paths, so the socket would land somewhere else
 * (docs/linux-watching.md, trap T12).
 */
export const SUN_PATH_MAX = 107;

/**
 * Runs `fn` with an address that the kernel accepts for `absPath`: the path itself when it fits,
 * otherwise `./<basename>` with the process temporarily chdir'd into the directory, as git's
 * unix_sockaddr_init does. This relies on `server.listen({path})` binding and `net.connect
 * ({path})` calling connect(2) synchronously, inside this call (covered by the deep-path tests).
 *
 * The chdir is process-wide. JavaScript cannot observe it (nothing else runs before we restore),
 * but fs calls already queued on libuv's thread pool with *relative* paths could: the rest of the
 * daemon uses absolute paths. Not usable in worker threads (process.chdir is main-thread only).
 */
export function withSocketAddress<T>(absPath: string, fn: (address: string) => T): T {
  if (!path.isAbsolute(absPath)) {
    throw new SocketPathError(absPath, `socket path '${absPath}' is not absolute`);
  }
  if (Buffer.byteLength(absPath) <= SUN_PATH_MAX) return fn(absPath);

  // './' keeps Node from reading an all-digit name as a TCP port.
  const relative = `./${path.basename(absPath)}`;
  if (Buffer.byteLength(relative) > SUN_PATH_MAX) {
    throw new SocketPathError(
      absPath,
      `socket name '${path.basename(absPath)}' is too long for a Unix socket (max ${SUN_PATH_MAX - 2} bytes)`,
    );
  }
  let saved: string;
  try {
    saved = process.cwd();
  } catch (err) {
    throw new SocketPathError(
      absPath,
      `cannot use long socket path '${absPath}': the current directory is gone, so it could not be restored after chdir`,
      { cause: err },
    );
  }
  process.chdir(path.dirname(absPath));
  try {
    return fn(relative);
  } finally {
    process.chdir(saved);
  }
}
