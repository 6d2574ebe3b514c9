// Joins a TCP socket and a tunnel channel both ways, with flow control, and closes each when the other ends.
import type { Duplex } from 'node:stream';
import type { TunnelChannel } from './tunnel-channel.js';

export function pipeSocketThroughTunnel(socket: Duplex, channel: TunnelChannel): void {
  // Each RPC command is a small write awaiting its answer: Nagle's delay would cost a round trip per token.
  if ('setNoDelay' in socket && typeof socket.setNoDelay === 'function') (socket as import('node:net').Socket).setNoDelay(true);
  socket.on('data', (data: Buffer) => {
    if (!channel.send(data)) socket.pause();
  });
  channel.onDrain(() => socket.resume());
  channel.onDataPieces((pieces) => {
    // A frame's verified pieces in one writev, not joined first.
    socket.cork();
    let flowing = true;
    for (const piece of pieces) flowing = socket.write(piece);
    socket.uncork();
    if (!flowing) channel.pause();
  });
  socket.on('drain', () => channel.resume());
  socket.on('close', () => channel.close('the other end closed'));
  socket.on('error', () => socket.destroy());
  channel.onClose(() => socket.destroy());
}
