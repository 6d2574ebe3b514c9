// How others can reach this node: on a public address, only through relays, or behind NAT but with direct
// connections that DCUtR upgraded from relayed ones. Classification is pure; ReachabilityTracker feeds it from
// a running libp2p node (its verified addresses and its connections).
import type { Connection, Libp2p } from '@libp2p/interface';
import { BlockList } from 'node:net';
import { multiaddr } from '@multiformats/multiaddr';
import { isRelayed } from './connection-path.js';
import { upgradeStatsOf } from './job-streams.js';

export type Reachability = 'public' | 'relayed' | 'direct-upgraded' | 'private';

export interface RelayInUse {
  /** The relay's peer id. */
  peerId: string;
  /** Our addresses through it (…/p2p/<relay>/p2p-circuit/p2p/<us>). */
  addresses: string[];
}

export interface NatStatus {
  reachability: Reachability;
  /** Relays holding a reservation for us. */
  relays: RelayInUse[];
  /** Our dialable public addresses: announced, or confirmed by AutoNAT. */
  publicAddresses: string[];
  connections: { direct: number; relayed: number; upgraded: number };
  /** WebRTC upgrades of relayed job connections this node dialled: tried, and won (a direct UDP connection opened). */
  upgrades: { tried: number; won: number; lastError?: string };
  /** When this node is a relay: reservations it holds for others and the requests it refused. */
  relayService?: { reservations: number; refusals: number };
}

export interface ReachabilityInput {
  addresses: readonly string[];
  connections: { direct: number; relayed: number; upgraded: number };
}

/** Public beats everything; behind NAT, a live upgraded connection beats relays; with neither, private. */
export function classifyReachability({ addresses, connections }: ReachabilityInput): Reachability {
  if (publicAddressesOf(addresses).length > 0) return 'public';
  if (connections.upgraded > 0) return 'direct-upgraded';
  if (relaysOf(addresses).length > 0) return 'relayed';
  return 'private';
}

/** Addresses that are neither relayed nor in a private or loopback range. */
export function publicAddressesOf(addresses: readonly string[]): string[] {
  return addresses.filter((address) => {
    if (address.includes('/p2p-circuit')) return false;
    try {
      const ip = multiaddr(address).getComponents().find((component) => component.name === 'ip4' || component.name === 'ip6');
      return ip?.value !== undefined && !isPrivateIp(ip.value, ip.name === 'ip6' ? 'ipv6' : 'ipv4');
    } catch {
      return false;
    }
  });
}

/** The ranges libp2p itself treats as private (its DCUtR dials none of them), so both sides agree on "public". */
const PRIVATE_RANGES: Array<[string, number, 'ipv4' | 'ipv6']> = [
  ['0.0.0.0', 8, 'ipv4'], ['10.0.0.0', 8, 'ipv4'], ['100.64.0.0', 10, 'ipv4'], ['127.0.0.0', 8, 'ipv4'],
  ['169.254.0.0', 16, 'ipv4'], ['172.16.0.0', 12, 'ipv4'], ['192.0.0.0', 24, 'ipv4'], ['192.0.2.0', 24, 'ipv4'],
  ['192.88.99.0', 24, 'ipv4'], ['192.168.0.0', 16, 'ipv4'], ['198.18.0.0', 15, 'ipv4'], ['198.51.100.0', 24, 'ipv4'],
  ['203.0.113.0', 24, 'ipv4'], ['240.0.0.0', 4, 'ipv4'], ['::1', 128, 'ipv6'], ['::', 128, 'ipv6'], ['fc00::', 7, 'ipv6'], ['fe80::', 10, 'ipv6'],
];
const privateRanges = new BlockList();
for (const [network, prefix, family] of PRIVATE_RANGES) privateRanges.addSubnet(network, prefix, family);

export function isPrivateIp(ip: string, family: 'ipv4' | 'ipv6'): boolean {
  return privateRanges.check(ip, family);
}

/** The relays named in our circuit addresses, each with its addresses. */
export function relaysOf(addresses: readonly string[]): RelayInUse[] {
  const relays = new Map<string, string[]>();
  for (const address of addresses) {
    const [before] = address.split('/p2p-circuit');
    if (before === undefined || before === address) continue;
    const relay = before.match(/\/p2p\/(\w+)$/)?.[1];
    if (relay) relays.set(relay, [...(relays.get(relay) ?? []), address]);
  }
  return [...relays].map(([peerId, list]) => ({ peerId, addresses: list }));
}

function upgradesOf(libp2p: object): NatStatus['upgrades'] {
  const { tried, won, lastError } = upgradeStatsOf(libp2p);
  return { tried, won, ...(lastError ? { lastError } : {}) };
}

/** Follows a libp2p node's connections to count the direct ones DCUtR opened beside a relayed one. */
export class ReachabilityTracker {
  private readonly upgraded = new Set<string>();

  constructor(
    private readonly libp2p: Libp2p,
    private readonly relayService?: () => { reservations: number; refusals: number },
  ) {
    libp2p.addEventListener('connection:open', this.onOpen);
    libp2p.addEventListener('connection:close', this.onClose);
  }

  status(): NatStatus {
    const addresses = this.libp2p.getMultiaddrs().map((address) => address.toString());
    const open = this.libp2p.getConnections().filter((connection) => connection.status === 'open');
    const connections = {
      direct: open.filter((connection) => !isRelayed(connection)).length,
      relayed: open.filter(isRelayed).length,
      upgraded: open.filter((connection) => this.upgraded.has(connection.id)).length,
    };
    return {
      reachability: classifyReachability({ addresses, connections }),
      relays: relaysOf(addresses),
      publicAddresses: publicAddressesOf(addresses),
      connections,
      upgrades: upgradesOf(this.libp2p),
      ...(this.relayService ? { relayService: this.relayService() } : {}),
    };
  }

  stop(): void {
    this.libp2p.removeEventListener('connection:open', this.onOpen);
    this.libp2p.removeEventListener('connection:close', this.onClose);
  }

  /** A direct connection to a peer we already reach through a relay is DCUtR's doing (or a hole punch). */
  private readonly onOpen = (event: CustomEvent<Connection>): void => {
    const connection = event.detail;
    if (isRelayed(connection)) return;
    const relayedToSamePeer = this.libp2p.getConnections(connection.remotePeer).some((other) => other.id !== connection.id && isRelayed(other));
    if (relayedToSamePeer) this.upgraded.add(connection.id);
  };

  private readonly onClose = (event: CustomEvent<Connection>): void => {
    this.upgraded.delete(event.detail.id);
  };
}
