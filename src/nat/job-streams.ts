// The job protocol over libp2p: a node without an inbound port is reached on /infernet/job/1.0.0 through the
// connection libp2p has to it — relayed by a circuit relay, or direct once DCUtR upgraded it. Each stream is one
// PeerSession, so the handshake, limits and frames are those of the WebSocket path.
import type { Connection, PeerId, Stream } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr';
import type { Libp2p } from 'libp2p';
import type { TransportLimits } from '../config/index.js';
import type { Logger } from '../log/index.js';
import { PeerSession, PeerUnreachableError, ReconnectingLink, type BackoffPolicy, type SessionIdentity } from '../transport/index.js';
import { DIRECT_UPGRADE_WAIT_MS, JOB_STREAM_PROTOCOL, WEBRTC_RETRY_AFTER_MS, WEBRTC_UPGRADE_TIMEOUT_MS, LIBP2P_ENDPOINT_PREFIX, MAX_DIALLED_ADDRESSES_PER_PEER, MAX_JOB_STREAMS } from './constants.js';
import { isRelayed, remoteAddressOf } from './connection-path.js';
import { isWebRtcAddress } from './dial-order.js';
import { connectionTo, openConnectionTo, webRtcProof } from './peer-connections.js';
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
  const timeoutMs = options.timeoutMs ?? options.limits.handshakeTimeoutMs;
  const endpoint = libp2pEndpointOf(peerId);
  const { stream, connection } = await openStreamToPeer(libp2p, peerId, addresses, JOB_STREAM_PROTOCOL, { timeoutMs, logger: options.logger });
  const session = sessionOver(stream, connection, options);
  try {
    await session.ready;
  } catch (error) {
    // The same dead peer, when the stream opened (WebRTC data channels open without a round trip) but no answer came.
    if (!isRelayed(connection)) connection.abort(error instanceof Error ? error : new Error(String(error)));
    session.close('handshake failed');
    throw new PeerUnreachableError(endpoint, `session with ${peerId} failed: ${(error as Error).message}`, { cause: error });
  }
  return session;
}

/**
 * Opens a stream of `protocol` to a peer, on the best connection there is to it: a relayed one is given a moment
 * to be upgraded to a direct one (WebRTC over UDP, or DCUtR) first, so a long job or a stage's weights do not run
 * through the relay when they need not. Job sessions and stage tunnels (src/distributed) dial peers this way.
 */
export async function openStreamToPeer(libp2p: Libp2p, peerId: string, addresses: readonly string[], protocol: string, options: { timeoutMs: number; logger: Logger }): Promise<{ stream: Stream; connection: Connection }> {
  const { timeoutMs } = options;
  let connection: Connection | undefined;
  try {
    const peer = peerIdFromString(peerId);
    // The record's first addresses only (relayed ones come first in an honest record): libp2p's peer store keeps
    // what it is given, and the dial tries at most MAX_DIALLED_ADDRESSES_PER_PEER of what it holds.
    const named = addresses.slice(0, MAX_DIALLED_ADDRESSES_PER_PEER).map((address) => multiaddr(address));
    if (named.length) await libp2p.peerStore.merge(peer, { multiaddrs: named });
    // The connection already open, relayed included: a dial would cost the relay another circuit (peer-connections.ts).
    // Else a dial naming the record's addresses: one already under way to this peer (the DHT's, at a private address
    // a third peer told it, which is not reachable from here) is joined rather than started anew and keeps to the
    // addresses it was given; named ones are added to it and tried after those.
    const dialled = await connectionTo(libp2p, peer, { signal: AbortSignal.timeout(timeoutMs), addresses: named.map((address) => dialAddressOf(address, peer)) });
    connection = await bestConnection(libp2p, peer, dialled, options.logger);
    // A time limit of its own for the stream: one shared with the dial was spent when a WebRTC upgrade ran out its
    // limit (UDP dropped), and the stream on the relayed connection then failed at once, at every redial.
    const stream = await connection.newStream(protocol, { signal: AbortSignal.timeout(timeoutMs), runOnLimitedConnection: true });
    return { stream, connection };
  } catch (error) {
    // A direct connection whose peer is gone (a restarted process: WebRTC notices only when ICE consent lapses,
    // about 30 s later) is handed out at once by every dial until then (libp2p reuses any open unlimited
    // connection): drop it, so the next try dials afresh.
    if (connection && !isRelayed(connection)) connection.abort(error instanceof Error ? error : new Error(String(error)));
    throw new PeerUnreachableError(libp2pEndpointOf(peerId), `cannot open ${protocol} to ${peerId}: ${(error as Error).message}`, { cause: error });
  }
}

function sessionOver(stream: Stream, connection: Connection, options: JobStreamOptions): PeerSession {
  const socket = new StreamFrameSocket(stream, options.limits.maxFrameBytes * HARD_PAYLOAD_FACTOR);
  // The remote names the path: a /p2p-circuit address is relayed, any other is direct (or hole-punched).
  return new PeerSession(socket.asWebSocket(), options.identity, options.limits, options.logger, remoteAddressOf(connection));
}

/**
 * The connection, or a direct one to the same peer: a WebRTC connection signalled over the relay when the peer
 * listens for one (UDP punches through NATs where TCP cannot), else one DCUtR opens within DIRECT_UPGRADE_WAIT_MS
 * of the relayed connection's opening (a relayed connection older than that has had its chance: no wait).
 */
async function bestConnection(libp2p: Libp2p, peer: PeerId, relayedOrDirect: Connection, logger: Logger): Promise<Connection> {
  const direct = (): Connection | undefined => {
    const open = openConnectionTo(libp2p, peer);
    return open && !isRelayed(open) ? open : undefined;
  };
  if (!isRelayed(relayedOrDirect)) return relayedOrDirect;
  const already = direct();
  if (already) return already;
  const viaWebRtc = await upgradeToWebRtc(libp2p, peer, logger);
  if (viaWebRtc) return viaWebRtc;
  for (const deadline = relayedOrDirect.timeline.open + DIRECT_UPGRADE_WAIT_MS; Date.now() < deadline; ) {
    const upgraded = direct();
    if (upgraded) return upgraded;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return direct() ?? relayedOrDirect;
}

/**
 * Dials the peer's /p2p-circuit/webrtc address, counting the try and the win; undefined when it has none, when ICE
 * fails, or when it failed for this peer less than WEBRTC_RETRY_AFTER_MS ago (a NAT that drops UDP keeps dropping
 * it: without the pause every redial of the session would first wait out WEBRTC_UPGRADE_TIMEOUT_MS again).
 */
async function upgradeToWebRtc(libp2p: Libp2p, peer: PeerId, logger: Logger): Promise<Connection | undefined> {
  const known = await libp2p.peerStore.get(peer).catch(() => undefined);
  const stored = known?.addresses.map(({ multiaddr: address }) => address).find(isWebRtcAddress);
  if (!stored) return undefined;
  const address = dialAddressOf(stored, peer);
  const stats = upgradeStatsOf(libp2p);
  if (Date.now() - (stats.failedAt.get(peer.toString()) ?? -Infinity) < WEBRTC_RETRY_AFTER_MS) return undefined;
  stats.tried++;
  const started = Date.now();
  // The transport keeps the dial's signal for the connection's data channels: a timer left armed after the dial
  // (AbortSignal.timeout) would tear the new connection down when it fires. This one is disarmed once dialled.
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error(`no WebRTC connection within ${WEBRTC_UPGRADE_TIMEOUT_MS} ms`)), WEBRTC_UPGRADE_TIMEOUT_MS);
  try {
    const connection = await libp2p.dial(address, { signal: controller.signal });
    if (isRelayed(connection) || !connection.remotePeer.equals(peer)) return undefined;
    // Open is not yet usable: a WebRTC connection whose ICE never connected can sit open (peer-connections.ts).
    if (!(await webRtcProof(connection, logger))) throw new Error('the WebRTC connection carried no ping');
    stats.failedAt.delete(peer.toString());
    stats.won++;
    logger.info({ peer: peer.toString(), ms: Date.now() - started }, 'relayed connection upgraded to WebRTC (direct UDP)');
    return connection;
  } catch (error) {
    stats.lastError = (error as Error).message;
    stats.failedAt.set(peer.toString(), Date.now());
    logger.info({ peer: peer.toString(), ms: Date.now() - started, reason: stats.lastError }, 'WebRTC upgrade failed: staying on the relay');
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * An address of `peer` to dial: the address with the peer's own /p2p suffix. libp2p takes a dialled address's last
 * /p2p as the peer to reach, and the peer store keeps a peer's addresses without it (a WebRTC one as
 * …/p2p/<relay>/p2p-circuit/webrtc): dialled as stored, that names the relay, and libp2p hands back its open TCP
 * connection to the relay at once. That was the first attempt's flaky upgrade: a "won" upgrade in 0-5 ms whose job
 * session went to the relay, which answers as a client with no capabilities and closes the session 10 s later.
 */
export function dialAddressOf(address: Multiaddr, peer: PeerId): Multiaddr {
  const last = address.getComponents().at(-1);
  return last?.name === 'p2p' && last.value === peer.toString() ? address : address.encapsulate(`/p2p/${peer.toString()}`);
}

/** Upgrade attempts from relayed to direct (WebRTC) connections, per libp2p node. */
export interface UpgradeStats {
  tried: number;
  won: number;
  lastError?: string;
  /** When the last upgrade to each peer failed (ms since the epoch); cleared when one wins. */
  failedAt: Map<string, number>;
}

const upgradeStats = new WeakMap<object, UpgradeStats>();

export function upgradeStatsOf(libp2p: object): UpgradeStats {
  let stats = upgradeStats.get(libp2p);
  if (!stats) upgradeStats.set(libp2p, (stats = { tried: 0, won: 0, failedAt: new Map() }));
  return stats;
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
