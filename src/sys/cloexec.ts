import { libc } from './libc.js';

const F_SETFD = 2;
const FD_CLOEXEC = 1;

/**
 * Marks an inherited fd close-on-exec. Node marks only some inherited fds, and libuv closes
 * none in its children: without this every git process we start would hold the fd open.
 * Returns false when there is no libc to call.
 */
export function closeOnExec(fd: number): boolean {
  try {
    const fcntl = libc().lib.func('int fcntl(int fd, int cmd, ...)');
    return fcntl(fd, F_SETFD, 'int', FD_CLOEXEC) === 0;
  } catch {
    return false;
  }
}
