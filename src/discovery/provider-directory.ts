// What this node knows of providers right now: their verified records, latest load, when each was last heard
// from and how fast it answers. Times are handed in, so eviction is decided without sockets or waiting.
import type { NostrEvent } from '../protocol/index.js';
import { MAX_RECORD_TTL_MS } from './constants.js';
import type { Heartbeat } from './gossip-messages.js';
import { servesModel, type ProviderLoad, type ProviderRecord, type SignedProviderRecord } from './provider-record.js';

/** How a record first reached us: our own, pushed on gossip, or fetched after a DHT lookup. */
export type RecordSource = 'self' | 'gossip' | 'dht';

export interface KnownProvider {
  peerId: string;
  pubkey: string;
  record: ProviderRecord;
  /** The signed event, for anyone who wants to check it again. */
  event: NostrEvent;
  source: RecordSource;
  /** From the newest heartbeat, else the record's. */
  load: ProviderLoad;
  uptimeS?: number;
  /** Unix milliseconds of the last heartbeat received. */
  lastHeartbeatAt?: number;
  /** Unix milliseconds of the last record, heartbeat or answered ping. */
  lastSeenAt: number;
  latencyMs?: number;
}

export type RemovalReason = 'expired' | 'silent' | 'unreachable' | 'left';

export interface RemovedProvider {
  provider: KnownProvider;
  reason: RemovalReason;
}

/** 'full': a new provider while the directory holds MAX_KNOWN_PROVIDERS; it is not kept. */
export type UpsertResult = 'added' | 'updated' | 'stale' | 'full';

/**
 * Providers one node keeps track of. Every key that gossips a record would take a place: a key costs nothing to
 * make, so the places are bounded, and a key that falls silent gives its place up at the next eviction (threat
 * model, attack 13). Far more than the providers of a large network seen from one node.
 */
export const MAX_KNOWN_PROVIDERS = 4096;

export class ProviderDirectory {
  constructor(private readonly maxProviders = MAX_KNOWN_PROVIDERS) {}

  private readonly providers = new Map<string, KnownProvider>();
  /** The sender's clock of each provider's newest heartbeat: older ones are replays. */
  private readonly heartbeatTs = new Map<string, number>();
  /** Providers that left, with when (their clock): records issued before are replays and are refused. */
  private readonly departed = new Map<string, number>();

  get size(): number {
    return this.providers.size;
  }

  get(peerId: string): KnownProvider | undefined {
    return this.providers.get(peerId);
  }

  list(): KnownProvider[] {
    return [...this.providers.values()];
  }

  serving(model: string, sha256?: string): KnownProvider[] {
    return this.list().filter((provider) => servesModel(provider.record, model, sha256));
  }

  /** Keeps the newer of two records of one peer; an older one (a replay or a late gossip) is 'stale'. */
  upsert({ record, event }: SignedProviderRecord, source: RecordSource, now: number): UpsertResult {
    if (record.issuedAt <= (this.departed.get(record.peerId) ?? -Infinity)) return 'stale';
    const known = this.providers.get(record.peerId);
    if (known && known.record.issuedAt >= record.issuedAt) {
      if (known.record.issuedAt === record.issuedAt) known.lastSeenAt = Math.max(known.lastSeenAt, now);
      return 'stale';
    }
    // Known providers keep updating when the directory is full; a new one waits for a place to free.
    if (!known && source !== 'self' && this.providers.size >= this.maxProviders) return 'full';
    // A newer record carries fresh load; a heartbeat newer than it still wins.
    const heartbeatIsNewer = known !== undefined && (this.heartbeatTs.get(record.peerId) ?? -Infinity) > record.issuedAt;
    this.providers.set(record.peerId, {
      peerId: record.peerId,
      pubkey: record.pubkey,
      record,
      event,
      source: known?.source ?? source,
      load: heartbeatIsNewer ? known.load : record.load,
      ...(known?.uptimeS !== undefined ? { uptimeS: known.uptimeS } : {}),
      ...(known?.lastHeartbeatAt !== undefined ? { lastHeartbeatAt: known.lastHeartbeatAt } : {}),
      lastSeenAt: Math.max(now, known?.lastSeenAt ?? 0),
      ...(known?.latencyMs !== undefined ? { latencyMs: known.latencyMs } : {}),
    });
    return known ? 'updated' : 'added';
  }

  /** Records a heartbeat; false when the peer has no known record or the heartbeat is older than one seen. */
  heartbeat(peerId: string, heartbeat: Heartbeat, now: number): boolean {
    const known = this.providers.get(peerId);
    if (!known || heartbeat.ts <= (this.heartbeatTs.get(peerId) ?? -Infinity)) return false;
    this.heartbeatTs.set(peerId, heartbeat.ts);
    known.load = heartbeat.load;
    known.uptimeS = heartbeat.uptimeS;
    known.lastHeartbeatAt = now;
    known.lastSeenAt = Math.max(known.lastSeenAt, now);
    return true;
  }

  /** A ping answered. */
  reachable(peerId: string, latencyMs: number, now: number): void {
    const known = this.providers.get(peerId);
    if (!known) return;
    known.latencyMs = latencyMs;
    known.lastSeenAt = Math.max(known.lastSeenAt, now);
  }

  remove(peerId: string, reason: RemovalReason): RemovedProvider | undefined {
    const provider = this.providers.get(peerId);
    if (!provider) return undefined;
    this.providers.delete(peerId);
    this.heartbeatTs.delete(peerId);
    return { provider, reason };
  }

  /** A provider said it leaves at leftAt (its clock): removed, and its older records refused from now on. */
  markLeft(peerId: string, leftAt: number): RemovedProvider | undefined {
    this.departed.set(peerId, Math.max(leftAt, this.departed.get(peerId) ?? -Infinity));
    return this.remove(peerId, 'left');
  }

  /** Removes and returns the providers whose record lapsed or that were silent for longer than silenceTtlMs. */
  evictStale(now: number, silenceTtlMs: number): RemovedProvider[] {
    // No record outlives MAX_RECORD_TTL_MS, so neither need the notes of who left.
    for (const [peerId, leftAt] of this.departed) if (leftAt < now - MAX_RECORD_TTL_MS) this.departed.delete(peerId);
    const removed: RemovedProvider[] = [];
    for (const provider of this.providers.values()) {
      if (provider.source === 'self') continue;
      const reason: RemovalReason | undefined =
        provider.record.expiresAt <= now ? 'expired' : now - provider.lastSeenAt > silenceTtlMs ? 'silent' : undefined;
      if (reason) removed.push(this.remove(provider.peerId, reason)!);
    }
    return removed;
  }
}
