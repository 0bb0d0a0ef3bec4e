import * as afs from '../sys/fs-async.js';

/**
 * statfs magic numbers git (fsm-path-utils-linux.c) treats as remote: events there depend on the
 * server's and client's kernels, so git refuses to monitor them unless told otherwise.
 */
const REMOTE_TYPES: ReadonlyMap<number, string> = new Map([
  [0xff534d42, 'cifs'],
  [0x517b, 'smb'],
  [0xfe534d42, 'smb2'],
  [0x6969, 'nfs'],
  [0x5346414f, 'afs'],
  [0x73757245, 'coda'],
  [0x65735546, 'fuse'],
]);

/** Local filesystems that cannot hold a Unix socket (git's check_uds_volume: msdos, ntfs). */
const NO_SOCKET_TYPES: ReadonlyMap<number, string> = new Map([
  [0x4d44, 'vfat'],
  [0x5346544e, 'ntfs'],
  [0x2011bab0, 'exfat'],
]);

const KNOWN_TYPES: ReadonlyMap<number, string> = new Map([
  [0xef53, 'ext4'],
  [0x58465342, 'xfs'],
  [0x9123683e, 'btrfs'],
  [0x01021994, 'tmpfs'],
  [0x794c7630, 'overlayfs'],
  [0x2fc12fc1, 'zfs'],
  [0x01021997, 'v9fs'],
  [0x6a656a63, 'virtiofs'],
  ...NO_SOCKET_TYPES,
  ...REMOTE_TYPES,
]);

export interface FsInfo {
  type: number;
  name: string;
  remote: boolean;
  /** False where git would not put its socket: remote, or a filesystem without sockets. */
  sockets: boolean;
}

export async function filesystemOf(p: string): Promise<FsInfo> {
  const st = await afs.statfs(p);
  // statfs reports f_type as a signed long on some builds; normalise to the unsigned magic.
  const type = st.type >>> 0;
  const remote = REMOTE_TYPES.has(type);
  return {
    type,
    name: KNOWN_TYPES.get(type) ?? `0x${type.toString(16)}`,
    remote,
    sockets: !remote && !NO_SOCKET_TYPES.has(type),
  };
}
