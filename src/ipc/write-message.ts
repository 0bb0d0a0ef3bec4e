import type net from 'node:net';

/** A client that stops reading a response for this long is dropped, so it cannot pin memory. */
const RESPONSE_IDLE_MS = 30_000;

/**
 * Hands the framed response to the kernel and ends our side. The frames are already in
 * memory, so they are written corked: one writev instead of a syscall (and a reader wake-up)
 * per frame; no latency change was measurable here, but fewer syscalls. Resolves true once
 * everything was handed to the kernel ('finish'), false if the socket closed first.
 */
export function writeMessage(socket: net.Socket, buffers: Buffer[]): Promise<boolean> {
  if (socket.destroyed) return Promise.resolve(false);
  socket.setTimeout(RESPONSE_IDLE_MS, () => socket.destroy());
  const finished = settle(socket, 'finish');
  socket.cork();
  for (const buffer of buffers) socket.write(buffer);
  socket.end(); // uncorks
  return finished;
}

/** Resolves true on `event`, false if the socket closes first. */
function settle(socket: net.Socket, event: 'finish'): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      socket.off(event, onEvent);
      socket.off('close', onClose);
      resolve(ok);
    };
    const onEvent = () => done(true);
    const onClose = () => done(false);
    socket.once(event, onEvent);
    socket.once('close', onClose);
  });
}
