// The aggregators one node knows, from their signed records (gossip, lookups, its own). Every key that gossips a
// valid record would take a place, and keys cost nothing to make: the places are bounded (threat model, attack 13).
// A lapsed record gives its place up; a new key finds none while every place holds a live record, and known
// aggregators keep updating. Pure bookkeeping: records arrive here already verified.
import type { AggregatorRecord } from './aggregator-record.js';
import type { AggregatorSource, KnownAggregator } from './aggregator-discovery.js';

/** Far more aggregators than a large network has, seen from one node. */
export const MAX_KNOWN_AGGREGATORS = 1024;

export class AggregatorDirectory {
  private readonly known = new Map<string, KnownAggregator>();

  constructor(private readonly maxAggregators = MAX_KNOWN_AGGREGATORS) {}

  /** Keeps a verified record; undefined when the directory is full of live records and the key is new. */
  keep(record: AggregatorRecord, source: AggregatorSource, now = Date.now()): { known: KnownAggregator; added: boolean } | undefined {
    const previous = this.known.get(record.peerId);
    // A replayed older record must not replace a newer one.
    if (previous && previous.record.issuedAt > record.issuedAt) return { known: previous, added: false };
    if (!previous && source !== 'self' && this.known.size >= this.maxAggregators && this.dropLapsed(now) === 0) return undefined;
    const known: KnownAggregator = { record, pubkey: record.pubkey, peerId: record.peerId, source: previous?.source === 'self' ? 'self' : source, lastSeenAt: now, ...(previous?.latencyMs !== undefined ? { latencyMs: previous.latencyMs } : {}) };
    this.known.set(known.peerId, known);
    return { known, added: !previous };
  }

  /** Aggregators whose record has not lapsed. */
  list(now = Date.now()): KnownAggregator[] {
    this.dropLapsed(now);
    return [...this.known.values()];
  }

  get size(): number {
    return this.known.size;
  }

  private dropLapsed(now: number): number {
    let dropped = 0;
    for (const [peerId, known] of this.known) {
      if (known.record.expiresAt > now) continue;
      this.known.delete(peerId);
      dropped++;
    }
    return dropped;
  }
}
