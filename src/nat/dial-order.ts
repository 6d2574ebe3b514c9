// The order libp2p dials a peer's addresses in, one at a time until one connects. Like libp2p's own (loopback last,
// public before private, relayed after direct), except that WebRTC addresses signalled through a relay come last:
// a dial reaches the peer the way that surely works first, and the job path (job-streams.ts) then tries the UDP
// upgrade itself, counted and with its own time limit, so a NAT that drops UDP costs that attempt, not the dial.
import { multiaddr } from '@multiformats/multiaddr';
import { isPrivateIp } from './reachability.js';

export function isWebRtcAddress(address: { toString(): string }): boolean {
  return /\/p2p-circuit\/webrtc(\/|$)/.test(address.toString());
}

/** 0 first: public direct, private direct, loopback, relayed, then WebRTC through a relay. */
export function dialRank(address: { toString(): string }): number {
  const text = address.toString();
  if (isWebRtcAddress(text)) return 5;
  if (text.includes('/p2p-circuit')) return 4;
  try {
    const ip = multiaddr(text).getComponents().find((component) => component.name === 'ip4' || component.name === 'ip6');
    if (!ip?.value) return 1;
    if (ip.value.startsWith('127.') || ip.value === '::1') return 3;
    return isPrivateIp(ip.value, ip.name === 'ip6' ? 'ipv6' : 'ipv4') ? 2 : 0;
  } catch {
    return 1;
  }
}

/** A libp2p connectionManager.addressSorter (a compare function): by rank, then certified addresses first. */
export function compareDialAddresses(a: { multiaddr: { toString(): string }; isCertified?: boolean }, b: { multiaddr: { toString(): string }; isCertified?: boolean }): -1 | 0 | 1 {
  return Math.sign(dialRank(a.multiaddr) - dialRank(b.multiaddr) || Number(b.isCertified === true) - Number(a.isCertified === true)) as -1 | 0 | 1;
}
