// Which job endpoint a provider announces: its WebSocket URL when peers can dial it, libp2p://<peer id> with its
// relayed addresses when it sits behind NAT. Pure: the caller re-runs it whenever libp2p's addresses change.
import { libp2pEndpointOf } from './job-streams.js';
import { publicAddressesOf, relaysOf } from './reachability.js';

export type ReachabilityMode = 'auto' | 'public' | 'private';

export interface ChooseJobEndpointParameters {
  mode: ReachabilityMode;
  /** The node's WebSocket job listener. */
  wsEndpoint: string;
  peerId: string;
  /** libp2p's current dialable addresses (verified ones; relayed ones once a reservation holds). */
  addresses: readonly string[];
}

export interface JobEndpointChoice {
  endpoint: string;
  /** Where to dial a libp2p:// endpoint; absent for a WebSocket one. */
  addresses?: string[];
}

/** At most this many addresses travel in a record (its schema's limit). */
const MAX_RECORD_ADDRESSES = 32;

/**
 * auto: a node with a public address keeps its WebSocket endpoint (as does one with no relay yet: a LAN or a
 * test on loopback); one behind NAT with a relay reservation announces libp2p://, relayed addresses first.
 * private: always libp2p://. public: always the WebSocket URL.
 */
export function chooseJobEndpoint({ mode, wsEndpoint, peerId, addresses }: ChooseJobEndpointParameters): JobEndpointChoice {
  if (mode === 'public') return { endpoint: wsEndpoint };
  const relayed = relaysOf(addresses).flatMap((relay) => relay.addresses);
  if (mode === 'auto' && (publicAddressesOf(addresses).length > 0 || relayed.length === 0)) return { endpoint: wsEndpoint };
  const others = addresses.filter((address) => !relayed.includes(address));
  return { endpoint: libp2pEndpointOf(peerId), addresses: [...relayed, ...others].slice(0, MAX_RECORD_ADDRESSES) };
}
