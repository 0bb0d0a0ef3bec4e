import type net from 'node:net';
import os from 'node:os';
import { libc } from '../sys/libc.js';

/** Who is at the other end of a connected Unix socket, as the kernel recorded it. */
export interface PeerCredentials {
  /** 0 when the peer lives in a pid namespace this process cannot see. */
  pid: number;
  uid: number;
  gid: number;
}

const SOL_SOCKET = 1;
const SO_PEERCRED = 17; // Linux on x86, arm and most others (not mips or powerpc)

let getsockopt:
  | ((fd: number, level: number, name: number, val: Buffer, len: Buffer) => number)
  | null = null;

/**
 * SO_PEERCRED of a connected Unix socket: for a server, the client that called connect(); for
 * a client, the server that called listen(). Null where the platform or the socket cannot
 * tell (not Linux, no fd, the call failed): callers must treat that as "unknown".
 */
export function peerCredentials(socket: net.Socket): PeerCredentials | null {
  if (process.platform !== 'linux') return null;
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) return null;
  try {
    getsockopt ??= libc().lib.func(
      'int getsockopt(int fd, int level, int name, _Out_ uint8_t *val, _Inout_ uint8_t *len)',
    );
    const val = Buffer.alloc(12);
    const len = Buffer.alloc(4);
    const le = os.endianness() === 'LE';
    if (le) len.writeUInt32LE(12);
    else len.writeUInt32BE(12);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, val, len) !== 0) return null;
    const u32 = (at: number) => (le ? val.readUInt32LE(at) : val.readUInt32BE(at));
    return { pid: u32(0), uid: u32(4), gid: u32(8) };
  } catch {
    return null;
  }
}
