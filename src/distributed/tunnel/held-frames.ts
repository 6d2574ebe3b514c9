// Frames that arrive between the end of a tunnel's handshake and the moment its channel listens. ws emits every
// frame of one TCP read synchronously, so a worker's first sealed frame can come in the same read as its
// tunnel.accept, before the head has built the channel that would read it; without this it was silently lost (a
// worker that starts fast sent stage.ready into the void and the head waited 30 s).
import type WebSocket from 'ws';

export type Frame = [data: Buffer, isBinary: boolean];

const holders = new WeakMap<WebSocket, { frames: Frame[]; listener: (data: Buffer, isBinary: boolean) => void }>();

/** From now on, frames on `socket` are kept (after `earlier`, frames read already) until takeHeldFrames. */
export function holdFrames(socket: WebSocket, earlier: readonly Frame[] = []): void {
  if (holders.has(socket)) return;
  const frames: Frame[] = [...earlier];
  const listener = (data: Buffer, isBinary: boolean) => void frames.push([data, isBinary]);
  socket.on('message', listener);
  holders.set(socket, { frames, listener });
}

/** The frames kept since holdFrames, oldest first; the socket's frames are no longer kept. */
export function takeHeldFrames(socket: WebSocket): Frame[] {
  const holder = holders.get(socket);
  if (!holder) return [];
  socket.off('message', holder.listener);
  holders.delete(socket);
  return holder.frames;
}
