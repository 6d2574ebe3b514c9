// Kademlia's join, finished on purpose: kad-dht looks a new node up once, a second after start, and runs its first
// table refresh before any peer is known (the next ones come after 5 and 10 minutes). A node whose one self-query
// found nothing (it ran while the network was still forming, or timed out on a busy machine) keeps only its bootstrap
// peers; if the bootstrap's buckets are full no one else learns of it either, and it stays alone (6 of 50 nodes in a
// benchmark run). Such a node looks itself up again on a short back-off until it knows someone besides its bootstrap.
import type { DiscoveryLibp2p } from './create-discovery-node.js';

/**
 * When the table is checked, counted from the bootstrap connection: the first check follows kad-dht's own self-query,
 * so a node that query served makes no lookup at all. Then kad-dht's own schedule takes over.
 */
export const JOIN_LOOKUP_DELAYS_MS: readonly number[] = [2_000, 4_000, 8_000, 16_000, 32_000];
/** Kademlia's bucket size: a table this full has neighbours enough for every lookup. */
export const JOIN_ENOUGH_PEERS = 20;
/**
 * Peers besides its bootstrap peers that a node must know to count as joined: with one, a node whose lookups ran on a
 * busy machine and reached a single peer stopped looking, and lookups of its keys went through one neighbour.
 */
export const JOIN_MIN_OTHER_PEERS = 2;
const JOIN_LOOKUP_TIMEOUT_MS = 10_000;

export interface JoinLookup {
  /** Routing table size before the lookup. */
  before: number;
  /** Routing table size after it. */
  after: number;
  durationMs: number;
}

/** The routing table a node with these bootstrap peers holds once it has joined (see JOIN_MIN_OTHER_PEERS). */
export function joinedTableSize(bootstrapPeers: number): number {
  return Math.min(JOIN_ENOUGH_PEERS, Math.max(1, bootstrapPeers) + JOIN_MIN_OTHER_PEERS);
}

/**
 * Whether this node still needs a lookup of its own: while its table holds fewer than joinedTableSize (its bootstrap
 * peers, once kad-dht has added them, and a few others). A table past that is kept filled by kad-dht's schedule.
 */
export function needsJoinLookup({ tableSize, bootstrapPeers }: { tableSize: number; bootstrapPeers: number }): boolean {
  return tableSize < joinedTableSize(bootstrapPeers);
}

export interface JoinNetworkOptions {
  bootstrapPeers: number;
  signal: AbortSignal;
  delaysMs?: readonly number[];
  /** Called after each lookup, for the log. */
  onLookup?: (lookup: JoinLookup) => void;
}

/** Checks the table on the schedule and looks this node up while needsJoinLookup says so; ends early when aborted. */
export async function joinNetwork(libp2p: DiscoveryLibp2p, options: JoinNetworkOptions): Promise<void> {
  const dht = libp2p.services.dht;
  const self = libp2p.peerId.toMultihash().bytes;
  const tableSize = (): number => (dht as unknown as { routingTable: { size: number } }).routingTable.size;
  let previousDelay = 0;
  for (const delay of options.delaysMs ?? JOIN_LOOKUP_DELAYS_MS) {
    await sleep(delay - previousDelay, options.signal);
    previousDelay = delay;
    if (options.signal.aborted) return;
    const before = tableSize();
    if (!needsJoinLookup({ tableSize: before, bootstrapPeers: options.bootstrapPeers })) return;
    const started = Date.now();
    const signal = AbortSignal.any([options.signal, AbortSignal.timeout(JOIN_LOOKUP_TIMEOUT_MS)]);
    try {
      // Each peer that answers was dialled, and both sides add each other: that is the point of the lookup. Enough
      // answers fill a table, and the rest of a full walk would only cost more handshakes.
      let answers = 0;
      for await (const event of dht.getClosestPeers(self, { signal })) {
        if (event.name === 'PEER_RESPONSE') answers++;
        if (answers >= JOIN_ENOUGH_PEERS || signal.aborted) break;
      }
    } catch {
      // A lookup cut short by its timeout or by stop() still added whoever it reached.
    }
    options.onLookup?.({ before, after: tableSize(), durationMs: Date.now() - started });
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
