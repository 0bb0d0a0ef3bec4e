import { closeSync, openSync, readSync, type Stats } from 'node:fs';
import type net from 'node:net';
import path from 'node:path';
import * as afs from '../sys/fs-async.js';
import type { FileIdentity } from '../sys/identity.js';
import { connectSocket, errnoCode } from './connect.js';
import { SocketInUseError, SocketPathError } from './errors.js';
import { peerCredentials } from './peer.js';
import { withSocketAddress } from './socket-path.js';

/**
 * Makes room at `socketPath` (caller holds `<socketPath>.lock`). Only a dead socket is removed:
 * a live one means SocketInUseError, and anything that is not a socket (a user's file, a
 * directory, a planted symlink) means SocketPathError. git's unix_ss_create would unlink a
 * regular file; we never delete what we did not create.
 */
export async function clearSocketPath(socketPath: string): Promise<void> {
  let st: Stats;
  try {
    st = await afs.lstat(socketPath);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return;
    throw new SocketPathError(socketPath, `cannot inspect '${socketPath}': ${String(err)}`, {
      cause: err,
    });
  }
  if (st.isSymbolicLink()) {
    throw new SocketPathError(socketPath, `'${socketPath}' is a symlink; refusing to use it`);
  }
  if (!st.isSocket()) {
    throw new SocketPathError(
      socketPath,
      `'${socketPath}' exists and is not a socket; not replacing it`,
    );
  }
  try {
    (await connectSocket(socketPath)).destroy(); // a ping, as git's is_another_server_alive
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT') return; // removed meanwhile
    if (code === 'EAGAIN') throw new SocketInUseError(socketPath); // alive, backlog full
    if (code !== 'ECONNREFUSED') {
      throw new SocketPathError(socketPath, `cannot probe socket '${socketPath}': ${String(err)}`, {
        cause: err,
      });
    }
    // Dead socket (its server was killed). If it changed meanwhile, the link in publishSocket
    // fails with EEXIST instead.
    await afs.unlink(socketPath).catch(() => {});
    return;
  }
  throw new SocketInUseError(socketPath);
}

/**
 * Random hex for the temporary name, so nobody can plant or race a file at it ahead of us. From
 * /dev/urandom, not node:crypto: importing that costs a daemon ~0.8 MB RSS for its whole life.
 */
function unguessableHex(bytes: number): string {
  const buf = Buffer.alloc(bytes);
  const fd = openSync('/dev/urandom', 'r');
  try {
    readSync(fd, buf, 0, bytes, null);
  } finally {
    closeSync(fd);
  }
  return buf.toString('hex');
}

/**
 * Binds `server` and makes it appear at `socketPath` atomically, already chmod 0600.
 *
 * Why not bind `socketPath` directly: libuv unlinks the name it bound when the server closes.
 * After a theft that would delete the new owner's socket; with a long (relative) path it would
 * delete whatever has that name in the cwd of the moment. So we bind a private temporary name
 * in the same directory, chmod it, hard-link it to `socketPath` (link fails with EEXIST rather
 * than replace anything) and unlink the temporary name. libuv's later unlink then hits nothing.
 * It is bound under a private umask: until the chmod, the temporary name would otherwise carry
 * the caller's umask (0777 under umask 000), and a connect() that lands in that window stays
 * connected whatever the mode becomes. It is also never bound without listening (git's window
 * where clients get ECONNREFUSED).
 */
export async function publishSocket(
  server: net.Server,
  socketPath: string,
  backlog: number,
): Promise<FileIdentity> {
  const tmpPath = path.join(
    path.dirname(socketPath),
    `.fsmond-${process.pid}-${unguessableHex(6)}.sock`,
  );
  try {
    await listen(server, tmpPath, backlog);
  } catch (err) {
    throw new SocketPathError(socketPath, `cannot listen on '${tmpPath}': ${String(err)}`, {
      cause: err,
    });
  }
  try {
    await afs.chmod(tmpPath, 0o600);
    const st = await afs.lstat(tmpPath);
    await linkOrRename(tmpPath, socketPath);
    return { ino: st.ino, dev: st.dev };
  } finally {
    await afs.unlink(tmpPath).catch(() => {});
  }
}

async function linkOrRename(tmpPath: string, socketPath: string): Promise<void> {
  try {
    await afs.link(tmpPath, socketPath);
    return;
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'EEXIST') throw new SocketInUseError(socketPath);
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'EMLINK') {
      throw new SocketPathError(
        socketPath,
        `cannot create socket '${socketPath}': ${String(err)}`,
        {
          cause: err,
        },
      );
    }
  }
  // No hard links on this filesystem: rename, after checking (under the lock) that the name is
  // still free. Only a server that ignores the lock could slip in between.
  const free = await afs.lstat(socketPath).then(
    () => false,
    (err) => errnoCode(err) === 'ENOENT',
  );
  if (!free) throw new SocketInUseError(socketPath);
  await afs.rename(tmpPath, socketPath);
}

function listen(server: net.Server, absPath: string, backlog: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => {
      server.off('listening', onListening);
      reject(err);
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    // bind(2) runs synchronously inside listen(), so the umask is ours for exactly that call.
    const saved = process.umask(0o077);
    try {
      withSocketAddress(absPath, (address) => server.listen({ path: address, backlog }));
    } catch (err) {
      server.off('error', onError);
      server.off('listening', onListening);
      reject(err);
    } finally {
      process.umask(saved);
    }
  });
}

/** How long the proof connection in adoptSocket may take to arrive among queued clients. */
const ADOPT_PROOF_MS = 2_000;

/**
 * Serves a listening socket a service manager bound and passed us (socket activation). The
 * path is the service manager's: it is never unlinked, and it must be a socket, and the passed
 * one: we connect to the path and must see that connection arrive on the fd (among the git
 * commands already queued there). Returns the path's identity, so that theft and removal are
 * seen as for a socket we bound ourselves.
 */
export async function adoptSocket(
  server: net.Server,
  socketPath: string,
  fd: number,
  backlog: number,
): Promise<FileIdentity> {
  const st = await afs.lstat(socketPath).catch((err: unknown) => {
    throw new SocketPathError(socketPath, `cannot inspect '${socketPath}': ${String(err)}`, {
      cause: err,
    });
  });
  if (!st.isSocket()) {
    throw new SocketPathError(socketPath, `'${socketPath}' is not the passed socket: not a socket`);
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ fd, backlog }, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch((err: unknown) => {
    throw new SocketPathError(socketPath, `cannot serve passed fd ${fd}: ${String(err)}`, {
      cause: err,
    });
  });
  if (!(await arrivesHere(server, socketPath))) {
    throw new SocketPathError(
      socketPath,
      `the socket passed to us (fd ${fd}) is not the one at '${socketPath}'`,
    );
  }
  return { ino: st.ino, dev: st.dev };
}

/** Connects to `socketPath` and waits for a connection from this very process on `server`. */
async function arrivesHere(server: net.Server, socketPath: string): Promise<boolean> {
  let onConnection: ((socket: net.Socket) => void) | undefined;
  const arrived = new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), ADOPT_PROOF_MS);
    onConnection = (socket) => {
      if (peerCredentials(socket)?.pid !== process.pid) return;
      clearTimeout(timer);
      resolve(true);
    };
    server.on('connection', onConnection);
  });
  try {
    const probe = await connectSocket(socketPath).catch(() => null);
    if (!probe) return false;
    const ok = await arrived;
    probe.destroy();
    return ok;
  } finally {
    server.off('connection', onConnection!);
  }
}
