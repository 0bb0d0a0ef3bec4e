import type net from 'node:net';

/** A client that stops reading a response for this long is dropped, so it cannot pin memory. */
const RESPONSE_IDLE_MS = 30_000;

/**
 * Writes the framed response honouring backpressure, then ends our side. Resolves true once
 * everything was handed to the kernel ('finish'), false if the socket closed first.
 */
export async function writeMessage(socket: net.Socket, buffers: Buffer[]): Promise<boolean> {
  if (socket.destroyed) return false;
  socket.setTimeout(RESPONSE_IDLE_MS, () => socket.destroy());
  for (const buffer of buffers) {
    if (socket.destroyed) return false;
    if (!socket.write(buffer) && !(await settle(socket, 'drain'))) return false;
  }
  if (socket.destroyed) return false;
  const finished = settle(socket, 'finish');
  socket.end();
  return finished;
}

/** Resolves true on `event`, false if the socket closes first. */
function settle(socket: net.Socket, event: 'drain' | 'finish'): Promise<boolean> {
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
