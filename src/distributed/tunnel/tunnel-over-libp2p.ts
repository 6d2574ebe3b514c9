// Stage tunnels to providers behind NAT: the provider answers TUNNEL_STREAM_PROTOCOL streams on its libp2p node
// (relayed, or direct once upgraded to WebRTC over UDP) and hands each to its stage listener as a connection; the
// head opens such a stream the way job sessions reach NATed providers (src/nat), and runs its handshake on it.
import type { Libp2p } from 'libp2p';
import type { Logger } from '../../log/index.js';
import { connectionPathOf, openStreamToPeer, remoteAddressOf } from '../../nat/index.js';
import { Libp2pStreamSocket } from './libp2p-stream-socket.js';
import { MAX_TUNNEL_STREAMS_PER_CONNECTION, TUNNEL_HANDSHAKE_TIMEOUT_MS, TUNNEL_STREAM_PROTOCOL } from './tunnel-protocol.js';

/** Opens one connection-like byte stream to a stage provider, for one tunnel (its handshake, then its frames). */
export type TunnelStreamOpener = () => Promise<Libp2pStreamSocket>;

/** Hands every inbound tunnel stream to `onSocket`; the returned function stops answering them. */
export async function serveTunnelStreams(libp2p: Pick<Libp2p, 'handle' | 'unhandle'>, onSocket: (socket: Libp2pStreamSocket) => void): Promise<() => Promise<void>> {
  await libp2p.handle(
    TUNNEL_STREAM_PROTOCOL,
    (stream, connection) => onSocket(new Libp2pStreamSocket(stream, { remoteAddress: connection.remotePeer.toString(), path: connectionPathOf(remoteAddressOf(connection)) })),
    // Relayed connections too: the relay's own byte and time limits then bound the stage, and the head prefers a direct one.
    { runOnLimitedConnection: true, maxInboundStreams: MAX_TUNNEL_STREAMS_PER_CONNECTION },
  );
  return () => libp2p.unhandle(TUNNEL_STREAM_PROTOCOL);
}

/**
 * Tunnel streams to the provider with libp2p peer id `peerId`, dialled at `addresses()` (its record's, read at
 * every open: a relay that died is replaced in the next record).
 */
export function tunnelStreamOpener(libp2p: Libp2p, peerId: string, addresses: () => readonly string[], logger: Logger): TunnelStreamOpener {
  return async () => {
    const { stream, connection } = await openStreamToPeer(libp2p, peerId, addresses(), TUNNEL_STREAM_PROTOCOL, { timeoutMs: TUNNEL_HANDSHAKE_TIMEOUT_MS, logger });
    return new Libp2pStreamSocket(stream, { remoteAddress: peerId, path: connectionPathOf(remoteAddressOf(connection)) });
  };
}
