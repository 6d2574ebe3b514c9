// The job protocol over libp2p: a node without an inbound port is reached on /infernet/job/1.0.0 through the
// connection libp2p has to it — relayed by a circuit relay, or direct once DCUtR upgraded it. Each stream is one
// PeerSession, so the handshake, limits and frames are those of the WebSocket path.
import type { Connection, PeerId, Stream } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { multiaddr } from '@multiformats/multiaddr';
import type { Libp2p } from 'libp2p';
import type { TransportLimits } from '../config/index.js';
import type { Logger } from '../log/index.js';
import { PeerSession, PeerUnreachableError, ReconnectingLink, type BackoffPolicy, type SessionIdentity } from '../transport/index.js';
import { DIRECT_UPGRADE_WAIT_MS, JOB_STREAM_PROTOCOL, LIBP2P_ENDPOINT_PREFIX, MAX_DIALLED_ADDRESSES_PER_PEER, MAX_JOB_STREAMS } from './constants.js';
import { StreamFrameSocket } from './stream-frame-socket.js';

/** Frames up to this multiple of the limit are read (and refused by the session); beyond, the stream is cut. */
const HARD_PAYLOAD_FACTOR = 4;

export interface JobStreamOptions {
  identity: SessionIdentity;
  limits: TransportLimits;
  logger: Logger;
}

/** libp2p://<peer id> for a node's peer id; the record carries the addresses (relayed ones included). */
export function libp2pEndpointOf(peerId: string): string {
  return `${LIBP2P_ENDPOINT_PREFIX}${peerId}`;
}

/** The peer id of a libp2p:// endpoint, or undefined for any other endpoint (a ws:// URL). */
export function peerIdOfEndpoint(endpoint: string): string | undefined {
  return endpoint.startsWith(LIBP2P_ENDPOINT_PREFIX) ? endpoint.slice(LIBP2P_ENDPOINT_PREFIX.length) : undefined;
}

type ConnectionPath = Pick<Connection, 'remoteAddr' | 'remotePeer' | 'limits'>;

/**
 * Whether a connection runs through a relay. The dialling side sees /p2p-circuit in the remote address; the side
 * that was dialled sees the relay's own address (ending in the relay's peer id, not the remote's) and the relay's
 * limits on the connection.
 */
export function isRelayed(connection: ConnectionPath): boolean {
  const address = connection.remoteAddr.toString();
  if (address.includes('/p2p-circuit') || connection.limits !== undefined) return true;
  const lastPeer = address.match(/\/p2p\/(\w+)$/)?.[1];
  return lastPeer !== undefined && lastPeer !== connection.remotePeer.toString();
}

/** The remote as a full address: a relayed one always reads …/p2p/<relay>/p2p-circuit/p2p/<remote>. */
export function remoteAddressOf(connection: ConnectionPath): string {
  const address = connection.remoteAddr.toString();
  if (!isRelayed(connection) || address.includes('/p2p-circuit')) return address;
  return `${address}/p2p-circuit/p2p/${connection.remotePeer.toString()}`;
}

/** Accepts job sessions on libp2p streams, relayed connections included; `onSession` gets each authenticated one. */
export async function serveJobStreams(libp2p: Libp2p, options: JobStreamOptions & { onSession: (session: PeerSession) => void }): Promise<void> {
  await libp2p.handle(
    JOB_STREAM_PROTOCOL,
    (stream, connection) => {
      const session = sessionOver(stream, connection, options);
      session.ready.then(
        (peer) => {
          session.log.info({ peer: peer.npub, role: peer.role, path: isRelayed(connection) ? 'relayed' : 'direct' }, 'peer authenticated over libp2p');
          options.onSession(session);
        },
        (error: Error) => session.log.info({ reason: error.message }, 'handshake over libp2p failed'),
      );
    },
    { runOnLimitedConnection: true, maxInboundStreams: MAX_JOB_STREAMS },
  );
}

/**
 * Opens a job session to a peer over libp2p. A relayed connection is given a moment to be upgraded to a direct
 * one (DCUtR) first, so a long job does not run through the relay when it need not.
 */
export async function dialJobSession(libp2p: Libp2p, peerId: string, addresses: readonly string[], options: JobStreamOptions & { timeoutMs?: number }): Promise<PeerSession> {
  const signal = AbortSignal.timeout(options.timeoutMs ?? options.limits.handshakeTimeoutMs);
  const endpoint = libp2pEndpointOf(peerId);
  let stream: Stream;
  let connection: Connection;
  try {
    const peer = peerIdFromString(peerId);
    // The record's first addresses only (relayed ones come first in an honest record): libp2p's peer store keeps
    // what it is given, and the dial tries at most MAX_DIALLED_ADDRESSES_PER_PEER of what it holds.
    const named = addresses.slice(0, MAX_DIALLED_ADDRESSES_PER_PEER);
    if (named.length) await libp2p.peerStore.merge(peer, { multiaddrs: named.map((address) => multiaddr(address)) });
    connection = await bestConnection(libp2p, peer, await libp2p.dial(peer, { signal }), signal);
    stream = await connection.newStream(JOB_STREAM_PROTOCOL, { signal, runOnLimitedConnection: true });
  } catch (error) {
    throw new PeerUnreachableError(endpoint, `cannot open ${JOB_STREAM_PROTOCOL} to ${peerId}: ${(error as Error).message}`, { cause: error });
  }
  const session = sessionOver(stream, connection, options);
  try {
    await session.ready;
  } catch (error) {
    session.close('handshake failed');
    throw new PeerUnreachableError(endpoint, `session with ${peerId} failed: ${(error as Error).message}`, { cause: error });
  }
  return session;
}

function sessionOver(stream: Stream, connection: Connection, options: JobStreamOptions): PeerSession {
  const socket = new StreamFrameSocket(stream, options.limits.maxFrameBytes * HARD_PAYLOAD_FACTOR);
  // The remote names the path: a /p2p-circuit address is relayed, any other is direct (or hole-punched).
  return new PeerSession(socket.asWebSocket(), options.identity, options.limits, options.logger, remoteAddressOf(connection));
}

/** The dialled connection, or a direct one to the same peer if DCUtR opens one within DIRECT_UPGRADE_WAIT_MS. */
async function bestConnection(libp2p: Libp2p, peer: PeerId, dialled: Connection, signal: AbortSignal): Promise<Connection> {
  const direct = (): Connection | undefined => libp2p.getConnections(peer).find((connection) => connection.status === 'open' && !isRelayed(connection));
  if (!isRelayed(dialled)) return dialled;
  for (const deadline = Date.now() + DIRECT_UPGRADE_WAIT_MS; Date.now() < deadline && !signal.aborted; ) {
    const upgraded = direct();
    if (upgraded) return upgraded;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return direct() ?? dialled;
}

/** Relays come and go: retry soon after a relay dies, since a new reservation usually follows within seconds. */
const LINK_BACKOFF: BackoffPolicy = { initialMs: 250, maxMs: 5_000, factor: 2 };

/** Keeps one job session to a libp2p peer alive, as PeerLink does for a WebSocket URL: redials after every close. */
export class JobStreamLink extends ReconnectingLink {
  constructor(
    libp2p: Libp2p,
    readonly peerId: string,
    options: JobStreamOptions & {
      /** The peer's current addresses (its record's, relayed ones included), read at every dial. */
      addresses: () => string[];
      onSession: (session: PeerSession) => void;
      backoff?: BackoffPolicy;
    },
  ) {
    super(() => dialJobSession(libp2p, peerId, options.addresses(), options), { ...options, backoff: options.backoff ?? LINK_BACKOFF, logFields: { peer: peerId, over: 'libp2p' } });
  }

  get url(): string {
    return libp2pEndpointOf(this.peerId);
  }
}
