// The connection a new stream to a peer should ride on. libp2p's dial never hands out a relayed (limited)
// connection it already holds: it opens another circuit through the relay, then drops the new one as a duplicate
// of the first and returns that. Every stream to a NATed peer then cost its relay a circuit, and relays limit
// circuits per peer per minute: a head opening a stage's tunnels, with discovery pinging and fetching records
// beside it, ran out within a minute and was refused (PERMISSION_DENIED) until the window passed. Streams to a
// peer go over the connection already open to it, direct or relayed, and dial only when there is none.
//
// A WebRTC connection is used only once it has carried a ping. @libp2p/webrtc 6.0.33's recipient finishes its side
// of a connection when the initiator gives up and resets the signalling stream (ICE never connected: UDP dropped),
// so a connection that can carry nothing sits open as "direct" and every stream on it waits out its time limit:
// record fetches and pings failed for 5 s after each try (DCUtR retries one every 5 s), and the head found no stage.
import type { Connection, Libp2p, PeerId, Stream, StreamMessageEvent } from '@libp2p/interface';
import { PING_PROTOCOL } from '@libp2p/ping';
import type { Multiaddr } from '@multiformats/multiaddr';
import type { Logger } from '../log/index.js';
import { isRelayed, isWebRtc } from './connection-path.js';

/** How long a new WebRTC connection has to answer its first ping before it is closed. */
export const WEBRTC_PROOF_TIMEOUT_MS = 5_000;

/** Each WebRTC connection's proof: a ping answered over it (true), or none in time (false). */
const webRtcProofs = new WeakMap<Connection, Promise<boolean>>();
const provenWebRtc = new WeakSet<Connection>();

/**
 * Proves every WebRTC connection the node opens or accepts with a ping over it, and closes one that cannot carry
 * it (logged), so that libp2p falls back to the relayed connection beside it.
 */
export function proveWebRtcConnections(libp2p: Pick<Libp2p, 'addEventListener'>, logger: Logger): void {
  libp2p.addEventListener('connection:open', ({ detail: connection }) => {
    if (isWebRtc(connection.remoteAddr.toString())) void webRtcProof(connection, logger);
  });
}

/** Whether the WebRTC connection carried its proof ping (started on first call; the same promise after). */
export function webRtcProof(connection: Connection, logger: Logger): Promise<boolean> {
  let proof = webRtcProofs.get(connection);
  if (!proof) {
    proof = pingOver(connection, AbortSignal.timeout(WEBRTC_PROOF_TIMEOUT_MS)).then(
      () => (provenWebRtc.add(connection), true),
      (error: Error) => {
        logger.info({ peer: connection.remotePeer.toString(), direction: connection.direction, reason: error.message }, 'WebRTC connection carried no ping: closed');
        connection.abort(new Error(`WebRTC connection carried no ping within ${WEBRTC_PROOF_TIMEOUT_MS} ms`));
        return false;
      },
    );
    webRtcProofs.set(connection, proof);
  }
  return proof;
}

/**
 * An open connection to `peer` a stream can use: a direct one when there is one (a WebRTC one only once proven),
 * else a relayed one; undefined when there is none.
 */
export function openConnectionTo(libp2p: Pick<Libp2p, 'getConnections'>, peer: PeerId): Connection | undefined {
  const open = libp2p.getConnections(peer).filter((connection) => connection.status === 'open');
  const usable = (connection: Connection): boolean => !isWebRtc(connection.remoteAddr.toString()) || provenWebRtc.has(connection);
  return open.find((connection) => !isRelayed(connection) && usable(connection)) ?? open.find(isRelayed);
}

/**
 * The connection open to `peer` (relayed included), or a new dial when none is: at `addresses` (each ending in the
 * peer's /p2p) when given, else at those the peer store holds.
 */
export async function connectionTo(libp2p: Pick<Libp2p, 'getConnections' | 'dial'>, peer: PeerId, options: { signal: AbortSignal; addresses?: Multiaddr[] }): Promise<Connection> {
  const open = openConnectionTo(libp2p, peer);
  if (open) return open;
  return libp2p.dial(options.addresses?.length ? options.addresses : peer, { signal: options.signal });
}

/** A stream of `protocol` to `peer`, on the connection open to it or a new one; relayed connections allowed. */
export async function streamTo(libp2p: Pick<Libp2p, 'getConnections' | 'dial'>, peer: PeerId, protocol: string, options: { signal: AbortSignal }): Promise<Stream> {
  const connection = await connectionTo(libp2p, peer, options);
  return connection.newStream(protocol, { signal: options.signal, runOnLimitedConnection: true });
}

/**
 * The round trip of one ping (libp2p's ping protocol, which every Infernet node answers, relayed connections
 * included), in ms, over the connection open to `peer` or a new one.
 */
export async function pingPeer(libp2p: Pick<Libp2p, 'getConnections' | 'dial'>, peer: PeerId, options: { signal: AbortSignal }): Promise<number> {
  return pingOver(await connectionTo(libp2p, peer, options), options.signal);
}

/** The bytes of one ping (the ping protocol's fixed length). */
const PING_BYTES = 32;

/** The round trip of one ping over `connection`, in ms. */
async function pingOver(connection: Connection, signal: AbortSignal): Promise<number> {
  const stream = await connection.newStream(PING_PROTOCOL, { signal, runOnLimitedConnection: true });
  try {
    const sent = crypto.getRandomValues(new Uint8Array(PING_BYTES));
    const started = Date.now();
    const echoed = readBytes(stream, PING_BYTES, signal);
    stream.send(sent);
    const answer = await echoed;
    const rtt = Date.now() - started;
    if (!Buffer.from(answer).equals(Buffer.from(sent))) throw new Error(`${connection.remotePeer.toString()} answered a ping with other bytes`);
    await stream.close({ signal });
    return rtt;
  } catch (error) {
    stream.abort(error instanceof Error ? error : new Error(String(error)));
    throw error;
  }
}

/** The next `count` bytes the stream receives; rejects when it closes first or the signal fires. */
function readBytes(stream: Stream, count: number, signal: AbortSignal): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const received = new Uint8Array(count);
    let length = 0;
    const done = (error?: Error): void => {
      stream.removeEventListener('message', onMessage);
      stream.removeEventListener('close', onClose);
      signal.removeEventListener('abort', onAbort);
      if (error) reject(error);
      else resolve(received);
    };
    const onMessage = (event: StreamMessageEvent): void => {
      const chunk = event.data.subarray(0, count - length);
      received.set(chunk, length);
      length += chunk.byteLength;
      if (length === count) done();
    };
    const onClose = (): void => done(new Error(`the stream closed after ${length} of ${count} bytes`));
    const onAbort = (): void => done(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    if (signal.aborted) return onAbort();
    stream.addEventListener('message', onMessage);
    stream.addEventListener('close', onClose);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
