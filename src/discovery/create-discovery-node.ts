// The libp2p node discovery runs on: TCP and WebSocket transports, noise, yamux, identify, ping, a Kademlia DHT
// under Infernet's own protocol id, and gossipsub; for NAT traversal (src/nat) the circuit relay v2 transport,
// DCUtR, AutoNAT, WebRTC (private-to-private: signalled over a relay, then UDP peer to peer, which punches through
// NATs that TCP from Node cannot), and on nodes that offer it a relay service held to per-peer limits and a STUN
// server, so NATed peers learn their public UDP mapping from Infernet's own nodes. Its key is derived from the node's Nostr key and bound to it
// by a signed record, so the peer id is stable and vouched for.
import { createHash } from 'node:crypto';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { autoNAT } from '@libp2p/autonat';
import { circuitRelayServer, circuitRelayTransport, type CircuitRelayService } from '@libp2p/circuit-relay-v2';
import { dcutr } from '@libp2p/dcutr';
import { gossipsub, type GossipSub } from '@libp2p/gossipsub';
import { identify, type Identify } from '@libp2p/identify';
import type { ConnectionGater, Ed25519PrivateKey, PeerId } from '@libp2p/interface';
import { kadDHT, type KadDHT } from '@libp2p/kad-dht';
import { ping, type Ping } from '@libp2p/ping';
import { tcp } from '@libp2p/tcp';
import { webRTC } from '@libp2p/webrtc';
import { webSockets } from '@libp2p/websockets';
import { multiaddr } from '@multiformats/multiaddr';
import { createLibp2p, type Libp2p } from 'libp2p';
import type { NodeKey } from '../identity/index.js';
import type { Logger } from '../log/index.js';
import { MAX_DIALLED_ADDRESSES_PER_PEER } from '../nat/constants.js';
import { dialAddressComparator } from '../nat/dial-order.js';
import { proveWebRtcConnections } from '../nat/peer-connections.js';
import { RelayPolicy, type RelayLimits } from '../nat/relay-policy.js';
import { DEFAULT_STUN_PORT, startStunServer, type StunServer } from '../nat/stun-server.js';
import type { NostrEvent } from '../protocol/index.js';
import { DHT_PROTOCOL } from './constants.js';
import { deriveLibp2pKey } from './libp2p-key.js';
import { createPeerBinding } from './peer-binding.js';

export type DiscoveryServices = { identify: Identify; ping: Ping; dht: KadDHT; pubsub: GossipSub };
export type DiscoveryLibp2p = Libp2p<DiscoveryServices>;

/** Listen on every interface, a random TCP port and a random WebSocket port. */
export const DEFAULT_LISTEN_ADDRESSES = ['/ip4/0.0.0.0/tcp/0', '/ip4/0.0.0.0/tcp/0/ws'];

export interface CreateDiscoveryNodeOptions {
  key: NodeKey;
  logger: Logger;
  /** Multiaddrs to listen on; defaults to DEFAULT_LISTEN_ADDRESSES. */
  listen?: string[];
  /** Multiaddrs to announce instead of the listening ones (a public address behind a port forward). */
  announce?: string[];
  /** Multiaddrs of bootstrap peers, each ending in /p2p/<peer id>. */
  bootstrap?: string[];
  /**
   * Multiaddr prefixes exempt from the connection manager's per-host inbound rate limit and from gossipsub's
   * same-IP penalty, e.g. ['/ip4/127.0.0.1'] when many nodes share one host (tests, a cluster behind one NAT).
   */
  allow?: string[];
  /** How long other DHT nodes keep our provider records, in seconds; we re-provide well within it. */
  providerValidityS?: number;
  /** NAT traversal; by default a relay client with hole punching and AutoNAT, offering no relay service. */
  nat?: NatTraversalOptions;
}

export interface NatTraversalOptions {
  /** Offer circuit relay v2 service with these limits (nodes with a public address). */
  relayServer?: RelayLimits;
  /** Reserve a slot on a relay, so peers can reach us through it. Default true (false on a relay or on loopback only). */
  relayClient?: boolean;
  /** DCUtR: replace a relayed connection by a direct one where the NATs allow. Default true. */
  holePunch?: boolean;
  /** Ask peers to dial us back to learn whether our addresses are public. Default true (false on loopback only). */
  autoNat?: boolean;
  /**
   * WebRTC over UDP: dial peers' /p2p-circuit/webrtc addresses, and listen for them (/webrtc) on a relay client.
   * Default true (false on a relay, which is public, and on loopback only, where there is no NAT to cross).
   */
  webrtc?: boolean;
  /** STUN servers for WebRTC's ICE (stun:host:port). Default: each bootstrap peer's IP on DEFAULT_STUN_PORT. */
  stunServers?: string[];
  /** On a relay: the UDP port its STUN server answers on (0: none). Default DEFAULT_STUN_PORT. */
  stunPort?: number;
}

export interface DiscoveryNode {
  readonly libp2p: DiscoveryLibp2p;
  readonly peerId: string;
  readonly privateKey: Ed25519PrivateKey;
  /** The kind-30951 event binding the Nostr key and this peer id. */
  readonly binding: NostrEvent;
  readonly bootstrap: readonly string[];
  /** The relay service and its per-peer limits, on a node that offers one. */
  readonly relay?: { service: CircuitRelayService; policy: RelayPolicy };
  /** The STUN server a relay runs beside its relay service (absent when off or when its port was taken). */
  readonly stun?: StunServer;
  /** Where others can dial this node, each with its /p2p/<peer id> suffix. */
  multiaddrs(): string[];
  /** Dials the bootstrap peers not connected now (failures are logged); returns the open connection count. */
  connectBootstrap(signal?: AbortSignal): Promise<number>;
  stop(): Promise<void>;
}

export async function createDiscoveryNode(options: CreateDiscoveryNodeOptions): Promise<DiscoveryNode> {
  const { privateKey, peerId } = await deriveLibp2pKey(options.key);
  const binding = await createPeerBinding(options.key, privateKey, peerId);
  const allow = options.allow ?? [];
  const log = options.logger.child({ component: 'discovery', peerId });
  const nat = options.nat ?? {};
  const relayLimits = nat.relayServer;
  const transportListen = options.listen ?? DEFAULT_LISTEN_ADDRESSES;
  // Nothing on loopback sits behind a NAT: searching for relays (a DHT random walk) and AutoNAT dial-backs would
  // only load a test network of many nodes in one process.
  const loopbackOnly = transportListen.every((address) => address.startsWith('/ip4/127.') || address.startsWith('/ip6/::1/'));
  const relayClient = nat.relayClient ?? (!relayLimits && !loopbackOnly);
  const relayPolicy = relayLimits ? new RelayPolicy(relayLimits) : undefined;
  let relayService: CircuitRelayService | undefined;
  let relayNode: Pick<Libp2p, 'getConnections'> | undefined;
  // Not on a relay: it has a public address, and a WebRTC transport there answers signalling streams, so NATed
  // peers ended up with a direct WebRTC connection to the relay beside their TCP one (NAT test, 2026-12-05), renewed
  // their reservation over it, and lost it when that connection died: the provider's relayed address vanished and
  // the aggregator dropped its job session ("closed by peer") along with it.
  const webrtc = nat.webrtc ?? (!loopbackOnly && !relayLimits);
  // Only a relay client is reachable at a /p2p-circuit/webrtc address: the relay carries the SDP offer and answer.
  const listen = [...transportListen, ...(relayClient ? ['/p2p-circuit'] : []), ...(relayClient && webrtc ? ['/webrtc'] : [])];
  // No third-party STUN: the relays (our bootstrap peers) answer, unless told otherwise.
  const iceServers = (nat.stunServers ?? stunServersOf(options.bootstrap ?? [])).map((urls) => ({ urls }));
  const libp2p = await createLibp2p({
    privateKey,
    addresses: { listen, ...(options.announce ? { announce: options.announce } : {}) },
    transports: [
      tcp(),
      webSockets(),
      circuitRelayTransport({ reservationCompletionTimeout: 10_000 }),
      ...(webrtc ? [webRTC({ rtcConfiguration: { iceServers } })] : []),
    ],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    // WebRTC through a relay is dialled last: the job path upgrades to it itself (src/nat/dial-order.ts says why).
    connectionManager: { allow, maxPeerAddrsToDial: MAX_DIALLED_ADDRESSES_PER_PEER, addressSorter: dialAddressComparator() },
    ...(relayPolicy ? { connectionGater: relayGater(relayPolicy, () => relayService, (peer) => (relayNode?.getConnections(peer).length ?? 0) > 0, log) } : {}),
    services: {
      ...(relayLimits
        ? {
            relay: circuitRelayServer({
              reservations: {
                maxReservations: relayLimits.maxReservations,
                applyDefaultLimit: true,
                defaultDurationLimit: relayLimits.circuitDurationS * 1000,
                defaultDataLimit: BigInt(relayLimits.circuitBytes),
              },
            }),
          }
        : {}),
      ...(nat.holePunch === false ? {} : { dcutr: dcutr() }),
      ...((nat.autoNat ?? !loopbackOnly) ? { autoNAT: autoNAT() } : {}),
      identify: identify(),
      // libp2p's connection monitor pings on the same protocol: leave room for our latency probes beside it.
      ping: ping({ maxOutboundStreams: 4, maxInboundStreams: 8 }),
      dht: kadDHT({
        protocol: DHT_PROTOCOL,
        clientMode: false,
        // The default mapper drops private and loopback addresses: a LAN or test network would find no one.
        peerInfoMapper: (peer) => peer,
        ...(options.providerValidityS ? { providers: { provideValidity: options.providerValidityS } } : {}),
      }),
      pubsub: gossipsub({
        allowPublishToZeroTopicPeers: true,
        emitSelf: false,
        // Each message reaches a node once per mesh peer; without a fast id every copy has its signature checked
        // before it is recognised as a duplicate. Only validated messages enter this cache, so a forged copy
        // cannot shadow the genuine one.
        fastMsgIdFn: (message) => Buffer.from(message.signature ?? createHash('sha256').update(message.data ?? new Uint8Array()).digest()).toString('base64'),
        scoreParams: { IPColocationFactorWhitelist: new Set(allow.map(ipOfPrefix).filter((ip) => ip !== undefined)) },
      }),
    },
  });
  const bootstrap = (options.bootstrap ?? []).filter((address) => !address.endsWith(`/p2p/${peerId}`));
  relayService = 'relay' in libp2p.services ? libp2p.services.relay : undefined;
  relayNode = libp2p;
  if (webrtc) proveWebRtcConnections(libp2p, log);
  const stun = relayService ? await serveStun(transportListen, nat.stunPort ?? DEFAULT_STUN_PORT, log) : undefined;
  return {
    libp2p,
    peerId,
    privateKey,
    binding,
    bootstrap,
    ...(relayService && relayPolicy ? { relay: { service: relayService, policy: relayPolicy } } : {}),
    ...(stun ? { stun } : {}),
    multiaddrs: () => libp2p.getMultiaddrs().map((address) => address.toString()),
    connectBootstrap: async (signal) => {
      await Promise.all(
        bootstrap.map(async (address) => {
          const target = multiaddr(address);
          const bootstrapPeer = target.getComponents().findLast((component) => component.name === 'p2p')?.value;
          if (bootstrapPeer && libp2p.getConnections().some((connection) => connection.remotePeer.toString() === bootstrapPeer)) return;
          try {
            await libp2p.dial(target, { signal: signal ?? AbortSignal.timeout(10_000) });
          } catch (error) {
            log.warn({ bootstrap: address, err: error }, 'bootstrap peer unreachable');
          }
        }),
      );
      return libp2p.getConnections().length;
    },
    stop: async () => {
      await stun?.close();
      await libp2p.stop();
    },
  };
}

/** stun:<ip>:DEFAULT_STUN_PORT for each bootstrap peer with an IP address: relays serve STUN on that port. */
export function stunServersOf(bootstrap: readonly string[]): string[] {
  const servers = bootstrap.map((address) => ipOfPrefix(address)).filter((ip) => ip !== undefined).map((ip) => (ip.includes(':') ? `stun:[${ip}]:${DEFAULT_STUN_PORT}` : `stun:${ip}:${DEFAULT_STUN_PORT}`));
  return [...new Set(servers)];
}

/** A STUN server on the relay's first listening IP; a taken port (several relays on one host) is logged, not fatal. */
async function serveStun(listen: readonly string[], port: number, log: Logger): Promise<StunServer | undefined> {
  if (port === 0) return undefined;
  const host = listen.map(ipOfPrefix).find((ip) => ip !== undefined) ?? '0.0.0.0';
  try {
    const server = await startStunServer({ host, port, logger: log });
    log.info({ host, port: server.port }, 'STUN server listening');
    return server;
  } catch (error) {
    log.warn({ host, port, err: (error as Error).message }, 'STUN server not started');
    return undefined;
  }
}

/** "/ip4/127.0.0.1" -> "127.0.0.1"; the gossipsub whitelist is by exact address. */
function ipOfPrefix(prefix: string): string | undefined {
  try {
    return multiaddr(prefix).getComponents().find((component) => component.name === 'ip4' || component.name === 'ip6')?.value;
  } catch {
    return undefined;
  }
}

/** The relay's per-peer limits as a connection gater: each refusal is logged with the peer and the reason. */
function relayGater(policy: RelayPolicy, service: () => CircuitRelayService | undefined, connected: (peer: PeerId) => boolean, log: Logger): ConnectionGater {
  return {
    denyInboundRelayReservation: (source) => {
      const reservations = service()?.reservations;
      const verdict = policy.admitReservation(source.toString(), reservations?.has(source) ?? false, reservations?.size ?? 0);
      if (verdict.allow) return false;
      log.warn({ peer: source.toString(), reason: verdict.reason, detail: verdict.detail }, 'relay reservation refused');
      return true;
    },
    denyOutboundRelayedConnection: (source, destination) => {
      // libp2p refuses a circuit to a peer the relay holds no connection to right after this (NO_RESERVATION: a
      // reservation outlives its holder's connection), at no cost to the relay. Not counted: a node redialling a
      // peer that left would otherwise use up its circuits to the peers that are there.
      if (!connected(destination)) return false;
      const verdict = policy.admitCircuit(source.toString());
      if (verdict.allow) return false;
      log.warn({ peer: source.toString(), to: destination.toString(), reason: verdict.reason, detail: verdict.detail }, 'relayed connection refused');
      return true;
    },
  };
}
