// Aggregators in discovery, beside (not inside) the provider directory of DiscoveryService: an aggregator announces
// a signed AggregatorRecord, and a client finds the aggregators of the network to route its jobs through.
//
// How a record travels, the way a provider's does:
// - The DHT holds pointers under sha256("aggregators:v1"); the record itself is fetched from the aggregator over
//   /infernet/aggregator-record/1.0.0, so a dead aggregator's stale pointer costs one failed dial. A client also
//   asks the peers it is connected to (its bootstrap peers are often aggregators), which finds the first node of a
//   network before anyone stored a pointer for it.
// - Aggregators gossip their record on infernet/aggregators/1 at announce and whenever models or load change;
//   nodes that follow the topic verify it before gossipsub forwards it and keep it until it expires.
// - The served record is re-signed whenever what it says changed, so a fetch always reads the current models.
import { EventEmitter } from 'node:events';
import { TopicValidatorResult, type Message } from '@libp2p/gossipsub';
import type { PeerId } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import type { Logger } from '../log/index.js';
import { pingPeer } from '../nat/index.js';
import { PROTOCOL_VERSION } from '../protocol/index.js';
import { cidOfKey } from './announce-keys.js';
import { AggregatorsTopicMessage, createAggregatorRecord, verifyAggregatorRecord, type AggregatorLoad, type AggregatorRecord, type SignedAggregatorRecord } from './aggregator-record.js';
import { AGGREGATOR_RECORD_PROTOCOL, AGGREGATORS_KEY, AGGREGATORS_TOPIC, DEFAULT_FLOOD_LIMITS, DEFAULT_TIMINGS, LOOKUP_CONCURRENCY } from './constants.js';
import type { DiscoveryService } from './discovery-service.js';
import { isRecordRejection, MalformedGossipError, RecordExpiredError, RecordFetchError } from './errors.js';
import { AggregatorDirectory } from './aggregator-directory.js';
import { FloodGuard } from './flood-guard.js';
import { fetchProviderRecord, serveProviderRecord } from './record-protocol.js';

/** How an aggregator was learnt of. */
export type AggregatorSource = 'self' | 'gossip' | 'dht' | 'peer';

export interface KnownAggregator {
  record: AggregatorRecord;
  pubkey: string;
  peerId: string;
  source: AggregatorSource;
  /** Round trip of the last libp2p ping, when one answered. */
  latencyMs?: number;
  lastSeenAt: number;
}

export interface AggregatorAnnouncement {
  /** The WebSocket URL clients dial. */
  endpoint: string;
  feeBps: number;
  software: Record<string, string>;
  protocolVersion?: number;
  /** Sampled at each re-sign: the models its providers serve now and its load. */
  snapshot: () => { models: string[]; load: AggregatorLoad };
}

export interface AggregatorDiscoveryOptions {
  logger: Logger;
  /** Follow the aggregators topic (a daemon); a one-shot lookup (a CLI command) relies on the DHT and its peers. Default true. */
  follow?: boolean;
  recordTtlMs?: number;
  /** How often an announcing aggregator checks whether its record changed (models, load) and re-gossips it. */
  checkIntervalMs?: number;
  lookupTimeoutMs?: number;
  pingTimeoutMs?: number;
  provideTimeoutMs?: number;
}

export interface AggregatorDiscoveryEvents {
  'aggregator:added': [KnownAggregator];
  'record:rejected': [{ peerId: string; via: 'gossip' | 'fetch'; error: Error }];
}

/** Lookups fetch at most this many records, however many pointers and peers there are. */
const MAX_AGGREGATORS_PER_LOOKUP = 64;
/** Models listed in the record, at most (the schema's bound): an aggregator routing more names the first ones. */
const MAX_RECORD_MODELS = 512;

export class AggregatorDiscovery extends EventEmitter<AggregatorDiscoveryEvents> {
  private readonly directory = new AggregatorDirectory();
  private readonly guard = new FloodGuard(DEFAULT_FLOOD_LIMITS);
  private readonly validated = new WeakMap<Message, SignedAggregatorRecord>();
  private readonly log: Logger;
  private readonly ttlMs: number;
  private announcement?: AggregatorAnnouncement;
  private current?: SignedAggregatorRecord;
  /** What the current record says of models and load, to tell when it must be re-signed. */
  private currentSnapshot = '';
  private providedAt = -Infinity;
  /** The id of the last record event gossiped. */
  private gossipedId = '';
  private timer?: NodeJS.Timeout;
  private started = false;

  constructor(
    private readonly service: DiscoveryService,
    private readonly options: AggregatorDiscoveryOptions,
  ) {
    super();
    this.log = options.logger.child({ component: 'aggregator-discovery' });
    this.ttlMs = options.recordTtlMs ?? DEFAULT_TIMINGS.recordTtlMs;
  }

  /** Serves our record (once announced) and, when following, validates and keeps the records gossiped. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const libp2p = this.service.libp2p;
    await serveProviderRecord(libp2p, () => this.currentEvent(), AGGREGATOR_RECORD_PROTOCOL);
    if (this.options.follow !== false) {
      libp2p.services.pubsub.topicValidators.set(AGGREGATORS_TOPIC, (_source, message) => this.validateGossip(message));
      libp2p.services.pubsub.addEventListener('message', this.onMessage);
      libp2p.services.pubsub.subscribe(AGGREGATORS_TOPIC);
    }
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    clearInterval(this.timer);
    this.announcement = undefined;
    this.current = undefined;
    if (!this.service.isStarted) return;
    const libp2p = this.service.libp2p;
    libp2p.services.pubsub.removeEventListener('message', this.onMessage);
    await libp2p.unhandle(AGGREGATOR_RECORD_PROTOCOL).catch(() => undefined);
  }

  /**
   * Signs and publishes this aggregator's record: served on the record protocol, gossiped, and provided in the DHT
   * under the aggregators key (not awaited: the first node of a network has nobody to store it with, and a DHT
   * walk may take its whole timeout). Re-checked every checkIntervalMs and re-signed when models or load changed.
   */
  announce(announcement: AggregatorAnnouncement): AggregatorRecord {
    this.announcement = announcement;
    const signed = this.sign();
    void this.gossip(signed);
    void this.provide();
    clearInterval(this.timer);
    this.timer = setInterval(() => void this.check(), this.options.checkIntervalMs ?? DEFAULT_TIMINGS.heartbeatIntervalMs);
    this.timer.unref();
    return signed.record;
  }

  /** Our signed record while announced, re-signed first when it no longer says what is true. */
  currentEvent(): SignedAggregatorRecord['event'] | undefined {
    if (!this.announcement) return undefined;
    const { models, load } = this.snapshot();
    const stale = !this.current || JSON.stringify({ models, load }) !== this.currentSnapshot || this.current.record.expiresAt - Date.now() < this.ttlMs / 2;
    return (stale ? this.sign() : this.current!).event;
  }

  /** Aggregators known now whose record has not lapsed, this node's own included. */
  list(now = Date.now()): KnownAggregator[] {
    return this.directory.list(now);
  }

  /**
   * Every aggregator reachable now: those the DHT points at and the peers this node is connected to, their
   * records fetched and verified, each pinged for its round trip. Ones that serve no record or fail to verify are
   * left out.
   */
  async findAggregators({ timeoutMs }: { timeoutMs?: number } = {}): Promise<KnownAggregator[]> {
    const libp2p = this.service.libp2p;
    const signal = AbortSignal.timeout(timeoutMs ?? this.options.lookupTimeoutMs ?? DEFAULT_TIMINGS.lookupTimeoutMs);
    const peers = new Map<string, PeerId>();
    for (const connection of libp2p.getConnections()) peers.set(connection.remotePeer.toString(), connection.remotePeer);
    try {
      for await (const provider of libp2p.contentRouting.findProviders(await cidOfKey(AGGREGATORS_KEY), { signal })) {
        if (provider.id.equals(libp2p.peerId)) continue;
        if (provider.multiaddrs.length) await libp2p.peerStore.merge(provider.id, { multiaddrs: provider.multiaddrs });
        peers.set(provider.id.toString(), provider.id);
        if (peers.size >= MAX_AGGREGATORS_PER_LOOKUP) break;
      }
    } catch (error) {
      if (!signal.aborted) this.log.warn({ err: error }, 'DHT lookup of aggregators failed');
    }
    const fromDht = new Set([...peers.keys()].filter((id) => !libp2p.getConnections(peerIdFromString(id)).length));
    const found: KnownAggregator[] = [];
    await forEachConcurrently([...peers.values()].slice(0, MAX_AGGREGATORS_PER_LOOKUP), LOOKUP_CONCURRENCY, async (peer) => {
      const known = await this.fetch(peer, fromDht.has(peer.toString()) ? 'dht' : 'peer', signal);
      if (known) found.push(await this.measure(known));
    });
    return found;
  }

  private snapshot(): { models: string[]; load: AggregatorLoad } {
    const { models, load } = this.announcement!.snapshot();
    return { models: [...new Set(models)].sort().slice(0, MAX_RECORD_MODELS), load };
  }

  private sign(): SignedAggregatorRecord {
    const announcement = this.announcement!;
    const { models, load } = this.snapshot();
    const signed = createAggregatorRecord({
      key: this.service.key,
      peerId: this.service.peerId,
      binding: this.service.binding,
      input: { endpoint: announcement.endpoint, feeBps: announcement.feeBps, models, load, software: announcement.software, protocolVersion: announcement.protocolVersion ?? PROTOCOL_VERSION },
      ttlMs: this.ttlMs,
    });
    this.current = signed;
    this.currentSnapshot = JSON.stringify({ models, load });
    this.keep(signed, 'self');
    return signed;
  }

  /**
   * Gossips the record whenever it was re-signed (what it says changed, or half its life passed; a fetch may have
   * re-signed it meanwhile), and renews the DHT pointer at half of its validity (or after a failed provide).
   */
  private async check(): Promise<void> {
    if (!this.announcement || !this.service.isStarted) return;
    const event = this.currentEvent();
    if (event && event.id !== this.gossipedId) await this.gossip(this.current!);
    await this.provide();
  }

  private async gossip(signed: SignedAggregatorRecord): Promise<void> {
    this.gossipedId = signed.event.id;
    try {
      await this.service.libp2p.services.pubsub.publish(AGGREGATORS_TOPIC, new TextEncoder().encode(JSON.stringify({ v: 1, type: 'record', event: signed.event } satisfies AggregatorsTopicMessage)));
    } catch (error) {
      this.log.debug({ err: error }, 'gossiping the aggregator record failed');
    }
  }

  private async provide(): Promise<void> {
    // The DHT keeps a pointer for twice the discovery record TTL (DiscoveryService's providerValidityS): renewed at half.
    if (Date.now() - this.providedAt < this.service.timings.recordTtlMs || !this.service.isStarted) return;
    const libp2p = this.service.libp2p;
    if (libp2p.getConnections().length === 0) return;
    this.providedAt = Date.now();
    try {
      await libp2p.contentRouting.provide(await cidOfKey(AGGREGATORS_KEY), { signal: AbortSignal.timeout(this.options.provideTimeoutMs ?? DEFAULT_TIMINGS.provideTimeoutMs) });
      this.log.info('aggregator record provided in the DHT');
    } catch (error) {
      this.providedAt = -Infinity;
      this.log.warn({ err: error }, 'providing the aggregator record to the DHT failed; retried at the next check');
    }
  }

  private async fetch(peer: PeerId, source: AggregatorSource, signal: AbortSignal): Promise<KnownAggregator | undefined> {
    const peerId = peer.toString();
    try {
      const event = await fetchProviderRecord(this.service.libp2p, peer, signal, AGGREGATOR_RECORD_PROTOCOL);
      return this.keep(await verifyAggregatorRecord(event, { expectedPeerId: peerId }), source);
    } catch (error) {
      // A peer that is no aggregator serves nothing on the protocol: not a fault of anyone's.
      if (error instanceof RecordFetchError) this.log.debug({ peer: peerId, err: error.message }, 'no aggregator record from this peer');
      else this.reject(peerId, 'fetch', error as Error);
      return undefined;
    }
  }

  private async measure(known: KnownAggregator): Promise<KnownAggregator> {
    try {
      const rtt = await pingPeer(this.service.libp2p, peerIdFromString(known.peerId), { signal: AbortSignal.timeout(this.options.pingTimeoutMs ?? DEFAULT_TIMINGS.pingTimeoutMs) });
      known.latencyMs = rtt;
    } catch (error) {
      this.log.debug({ peer: known.peerId, err: (error as Error).message }, 'aggregator did not answer a ping');
    }
    return known;
  }

  /** Keeps a verified record; undefined when the directory is full (a new key, every place holding a live record). */
  private keep(signed: SignedAggregatorRecord, source: AggregatorSource): KnownAggregator | undefined {
    const kept = this.directory.keep(signed.record, source);
    if (!kept) {
      this.log.debug({ peer: signed.record.peerId }, 'aggregator directory full: record not kept');
      return undefined;
    }
    if (kept.added) this.emit('aggregator:added', kept.known);
    return kept.known;
  }

  private reject(peerId: string, via: 'gossip' | 'fetch', error: Error): void {
    this.log.warn({ peer: peerId, via, error: error.name, reason: error.message }, 'aggregator record rejected');
    this.emit('record:rejected', { peerId, via, error });
  }

  private async validateGossip(message: Message): Promise<TopicValidatorResult> {
    if (message.type !== 'signed') return TopicValidatorResult.Reject;
    const peerId = message.from.toString();
    if (this.guard.admit(peerId) !== 'accept') return TopicValidatorResult.Ignore;
    try {
      const event = decodeAggregatorGossip(message.data);
      this.validated.set(message, await verifyAggregatorRecord(event, { expectedPeerId: peerId }));
      return TopicValidatorResult.Accept;
    } catch (error) {
      if (!isRecordRejection(error) && !(error instanceof MalformedGossipError)) throw error;
      this.reject(peerId, 'gossip', error);
      return error instanceof RecordExpiredError ? TopicValidatorResult.Ignore : TopicValidatorResult.Reject;
    }
  }

  private readonly onMessage = (event: CustomEvent<Message>): void => {
    const message = event.detail;
    if (message.topic !== AGGREGATORS_TOPIC) return;
    const verified = this.validated.get(message);
    if (verified) this.keep(verified, 'gossip');
  };
}

/** A message on infernet/aggregators/1, its event still to be verified by verifyAggregatorRecord. */
function decodeAggregatorGossip(data: Uint8Array): AggregatorsTopicMessage['event'] {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(data));
  } catch (cause) {
    throw new MalformedGossipError('the aggregator message is not UTF-8 JSON', { cause });
  }
  const parsed = AggregatorsTopicMessage.safeParse(json);
  if (!parsed.success) throw new MalformedGossipError(`the aggregator message is malformed: ${parsed.error.issues[0]?.message ?? 'unknown'}`, { cause: parsed.error });
  return parsed.data.event;
}

async function forEachConcurrently<T>(items: readonly T[], concurrency: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await task(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}
