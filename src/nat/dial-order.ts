// The order libp2p dials a peer's addresses in, one at a time until one connects. Like libp2p's own (loopback last,
// public before private, relayed after direct), with two differences. A private address on none of this machine's
// networks (another site's LAN, behind its NAT) comes after the relayed ones: nothing answers there, a connection
// attempt to it waits out libp2p's 6 s per address, and a NATed peer's first contact cost that much before its relay
// was tried (a head's stage lookup ran out of time that way, 2026-12-05). And WebRTC addresses signalled through a
// relay come last: a dial reaches the peer the way that surely works first, and the job path (job-streams.ts) then
// tries the UDP upgrade itself, counted and with its own time limit, so a NAT that drops UDP costs that attempt,
// not the dial.
import { BlockList } from 'node:net';
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';
import { multiaddr } from '@multiformats/multiaddr';
import { isPrivateIp } from './reachability.js';

export function isWebRtcAddress(address: { toString(): string }): boolean {
  return /\/p2p-circuit\/webrtc(\/|$)/.test(address.toString());
}

/** The networks this machine is on, as a block list of their subnets (each interface's address and netmask). */
export function localNetworksOf(interfaces: NodeJS.Dict<NetworkInterfaceInfo[]> = networkInterfaces()): BlockList {
  const networks = new BlockList();
  for (const info of Object.values(interfaces).flat()) {
    if (!info?.cidr) continue;
    const prefix = Number(info.cidr.split('/')[1]);
    networks.addSubnet(info.address, prefix, info.family === 'IPv6' ? 'ipv6' : 'ipv4');
  }
  return networks;
}

/**
 * 0 first: public direct, direct of unknown kind, private on one of `local`'s networks, loopback, relayed, private
 * on none of them, then WebRTC through a relay.
 */
export function dialRank(address: { toString(): string }, local: BlockList): number {
  const text = address.toString();
  if (isWebRtcAddress(text)) return 6;
  if (text.includes('/p2p-circuit')) return 4;
  try {
    const ip = multiaddr(text).getComponents().find((component) => component.name === 'ip4' || component.name === 'ip6');
    if (!ip?.value) return 1;
    if (ip.value.startsWith('127.') || ip.value === '::1') return 3;
    const family = ip.name === 'ip6' ? 'ipv6' : 'ipv4';
    if (!isPrivateIp(ip.value, family)) return 0;
    return local.check(ip.value, family) ? 2 : 5;
  } catch {
    return 1;
  }
}

type DialAddress = { multiaddr: { toString(): string }; isCertified?: boolean };

/**
 * A libp2p connectionManager.addressSorter (a compare function): by rank, then certified addresses first. This
 * machine's networks are read again at most once a second, so a laptop that changed networks ranks its new LAN's
 * addresses as local.
 */
export function dialAddressComparator(localNetworks: () => BlockList = cachedLocalNetworks()): (a: DialAddress, b: DialAddress) => -1 | 0 | 1 {
  return (a, b) => {
    const local = localNetworks();
    return Math.sign(dialRank(a.multiaddr, local) - dialRank(b.multiaddr, local) || Number(b.isCertified === true) - Number(a.isCertified === true)) as -1 | 0 | 1;
  };
}

/** This machine's networks, read again when the last read is older than a second. */
function cachedLocalNetworks(): () => BlockList {
  let read = 0;
  let networks = new BlockList();
  return () => {
    if (Date.now() - read > 1_000) {
      networks = localNetworksOf();
      read = Date.now();
    }
    return networks;
  };
}
