// The path a libp2p connection takes: direct over UDP (WebRTC), direct over TCP, or through a circuit relay, read
// from its remote address and limits as each side sees them.
import type { Connection } from '@libp2p/interface';

export type ConnectionPath = Pick<Connection, 'remoteAddr' | 'remotePeer' | 'limits'>;

/**
 * Whether a connection runs through a relay. The dialling side sees /p2p-circuit in the remote address; the side
 * that was dialled sees the relay's own address (ending in the relay's peer id, not the remote's) and the relay's
 * limits on the connection.
 */
export function isRelayed(connection: ConnectionPath): boolean {
  const address = connection.remoteAddr.toString();
  // A WebRTC connection was signalled through the relay, so the dialler's address names it (…/p2p-circuit/webrtc/…),
  // but its bytes go peer to peer over UDP.
  if (isWebRtc(address)) return false;
  if (address.includes('/p2p-circuit') || connection.limits !== undefined) return true;
  const lastPeer = address.match(/\/p2p\/(\w+)$/)?.[1];
  return lastPeer !== undefined && lastPeer !== connection.remotePeer.toString();
}

/** The path of a peer session, from its remote address (a multiaddr, or host:port / URL for a WebSocket session). */
export type ConnectionPathKind = 'direct-udp' | 'direct-tcp' | 'relayed';

export function connectionPathOf(remote: string): ConnectionPathKind {
  if (isWebRtc(remote) || remote.includes('/udp/')) return 'direct-udp';
  if (remote.includes('/p2p-circuit')) return 'relayed';
  return 'direct-tcp';
}

export function isWebRtc(address: string): boolean {
  return /\/webrtc(\/|$)/.test(address);
}

/** The remote as a full address: a relayed one always reads …/p2p/<relay>/p2p-circuit/p2p/<remote>. */
export function remoteAddressOf(connection: ConnectionPath): string {
  const address = connection.remoteAddr.toString();
  if (!isRelayed(connection) || address.includes('/p2p-circuit')) return address;
  return `${address}/p2p-circuit/p2p/${connection.remotePeer.toString()}`;
}
