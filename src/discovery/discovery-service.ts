// Discovery as one service in the daemon: joins the libp2p network, announces this node's provider record,
// keeps a live directory of the providers it hears of, and answers "who can run model M" with a ranked list.
//
// How a record travels, and why three ways:
// - The DHT holds only pointers: provider records under sha256("model:<name>") and sha256("gpu:<class>"). A node
//   that just joined, or never heard a provider's gossip, can still find every provider of a model by asking
//   the DHT, at the cost of one lookup, without trusting whoever stores the pointer.
// - The full signed record is fetched from the provider itself over /infernet/record/1.0.0. The DHT cannot
//   withdraw a pointer, but a provider that left or died serves nothing: a stale pointer costs one failed dial,
//   never a dead candidate. A successful fetch also proves the provider is up now.
// - Providers also push their record on the infernet/providers/1 gossip topic at announce and each refresh, and
//   a signed leaving notice on withdrawal, so aggregators that listen have their directory filled and emptied
//   without polling. Heartbeats (load, uptime) ride on infernet/heartbeat/1; a provider silent for longer than
//   heartbeatTtlMs, with a lapsed record or a failed ping is evicted. Every gossiped message is validated before
//   gossipsub forwards it, and a peer sending more than its share is ignored for a while (FloodGuard).
import { EventEmitter } from 'node:events';
import { TopicValidatorResult, type Message } from '@libp2p/gossipsub';
import type { PeerInfo } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import type { NodeKey } from '../identity/index.js';
import type { Logger } from '../log/index.js';
import { pingPeer } from '../nat/index.js';
import { PROTOCOL_VERSION, type JobKind, type NostrEvent, type Price } from '../protocol/index.js';
import { announceKeysOf, cidOfKey, modelKey, STAGES_KEY } from './announce-keys.js';
import {
  DEFAULT_FLOOD_LIMITS,
  DEFAULT_TIMINGS,
  HEARTBEAT_TOPIC,
  LOOKUP_CONCURRENCY,
  MAX_CLOCK_SKEW_MS,
  PROVIDERS_TOPIC,
  REPUTATION_TOPIC,
} from './constants.js';
import { createDiscoveryNode, type CreateDiscoveryNodeOptions, type DiscoveryLibp2p, type DiscoveryNode } from './create-discovery-node.js';
import { DiscoveryNotStartedError, isRecordRejection, MalformedGossipError, RecordExpiredError, RecordFetchError } from './errors.js';
import { FloodGuard, type FloodLimits } from './flood-guard.js';
import { joinNetwork } from './join-network.js';
import { createLeaving, decodeHeartbeat, decodeProvidersMessage, encodeGossip, verifyLeaving, type Heartbeat } from './gossip-messages.js';
import type { HardwareSummary } from './hardware-summary.js';
import { ProviderDirectory, type KnownProvider, type RemovedProvider } from './provider-directory.js';
import {
  createProviderRecord,
  verifyProviderRecord,
  type ModelServed,
  type ProviderLoad,
  type ProviderRecord,
  type SignedProviderRecord,
  type StageOffer,
} from './provider-record.js';
import { rankProviderRecords, type Placement, type RankingScores } from './rank-provider-records.js';
import { rankStageOffers, type RankedStageCandidate } from './rank-stage-offers.js';
import { fetchProviderRecord, serveProviderRecord } from './record-protocol.js';

export interface DiscoveryTimings {
  /** Validity of our signed record; re-signed, re-gossiped and re-provided at half of it. */
  recordTtlMs: number;
  heartbeatIntervalMs: number;
  /** A provider not heard from (record, heartbeat, ping) for this long is evicted. */
  heartbeatTtlMs: number;
  lookupTimeoutMs: number;
  /** How long announcing may take to store our pointers in the DHT. */
  provideTimeoutMs: number;
  pingTimeoutMs: number;
}

export interface DiscoveryServiceOptions extends Omit<CreateDiscoveryNodeOptions, 'providerValidityS'> {
  timings?: Partial<DiscoveryTimings>;
  /** Per originating peer, provider records and heartbeats together. */
  floodLimits?: Partial<FloodLimits>;
  /** A provider's reputation in [0, 1] by Nostr key; unknown is neutral. The reputation issue supplies it. */
  reputationOf?: (pubkey: string) => number | undefined;
  /**
   * False for a one-shot lookup (a CLI command): provider gossip, heartbeats and reputation are not followed, so
   * lookups rely on the DHT alone. Default true.
   */
  followGossip?: boolean;
  /** A round trip measured earlier (`infernet net test`), by Nostr key: ranking's latency when no ping answered yet. */
  storedLatencyOf?: (pubkey: string) => number | undefined;
}

export interface AnnounceParameters {
  hardware: HardwareSummary;
  models: ModelServed[];
  /** The WebSocket URL where this node takes jobs, or libp2p://<peer id> behind NAT (see src/nat). */
  endpoint: string;
  /** Multiaddrs for a libp2p:// endpoint, relayed ones included. */
  addresses?: string[];
  slots: number;
  price?: Price;
  region?: string;
  /** e.g. { infernet: "0.1.0", engine: "llama.cpp" }. */
  software: Record<string, string>;
  protocolVersion?: number;
  /** Sampled for each heartbeat and record refresh; defaults to no jobs running. */
  load?: () => ProviderLoad;
  /** RPC stages this node runs for other providers' heads (src/distributed). */
  stages?: StageOffer;
  /** The kinds of job it runs, when more than generate (ProviderRecord.jobKinds). */
  jobKinds?: JobKind[];
}

export interface FindStageProvidersParameters {
  /** The head asking: offers closed to it are left out. */
  head: string;
  minMemoryBytes?: number;
  /** At most this many, best first. Default 8. */
  limit?: number;
  timeoutMs?: number;
}

export type FoundStageProvider = RankedStageCandidate<KnownProvider & { reputation: number; latencyMs?: number }>;

export interface FindProvidersParameters {
  model: string;
  sha256?: string;
  /** Memory the model needs; providers that cannot hold it are left out. */
  memoryBytes?: number;
  /** At most this many providers, best first. Default 10. */
  limit?: number;
  /** Overrides timings.lookupTimeoutMs for this lookup. */
  timeoutMs?: number;
}

export type FoundProvider = KnownProvider & { reputation: number; score: number; scores: RankingScores; placement: Placement };

export type FindProvidersReturnType = FoundProvider[];

export interface ReputationMessage {
  /** The libp2p peer that published it (gossipsub-signed). */
  from: string;
  data: Uint8Array;
  receivedAt: number;
}

export interface RecordRejectedEvent {
  peerId: string;
  via: 'gossip' | 'fetch';
  error: Error;
}

export interface FloodingPeerEvent {
  peerId: string;
  topic: string;
  /** Unix milliseconds until which its messages are ignored. */
  until: number;
}

export interface DiscoveryEvents {
  'provider:added': [KnownProvider];
  'provider:updated': [KnownProvider];
  'provider:removed': [RemovedProvider];
  heartbeat: [{ peerId: string; heartbeat: Heartbeat }];
  reputation: [ReputationMessage];
  'record:rejected': [RecordRejectedEvent];
  'peer:flooding': [FloodingPeerEvent];
}

type Validated = { kind: 'record'; verified: SignedProviderRecord } | { kind: 'leaving'; event: NostrEvent } | { kind: 'heartbeat'; heartbeat: Heartbeat };

/** Lookups fetch at most this many records per call, however many pointers the DHT returns. */
const MAX_DHT_PROVIDERS_PER_LOOKUP = 64;
/** Pings at most this many top candidates per lookup (limit * 2, at least 8). */
const MIN_PINGED_CANDIDATES = 8;

export class DiscoveryService extends EventEmitter<DiscoveryEvents> {
  readonly timings: DiscoveryTimings;
  private readonly directory = new ProviderDirectory();
  private readonly gossipGuard: FloodGuard;
  private readonly reputationGuard: FloodGuard;
  private readonly validated = new WeakMap<Message, Validated>();
  private readonly log: Logger;
  private node?: DiscoveryNode;
  /** Kept after stop(), so a stopped service still says who it was. */
  private identity?: Pick<DiscoveryNode, 'peerId' | 'binding'>;
  private announcement?: AnnounceParameters;
  private current?: SignedProviderRecord;
  /** When each DHT key was last provided. */
  private readonly providedAt = new Map<string, number>();
  /** How long other DHT nodes keep our pointers: twice our record's life, at least a minute. */
  private readonly providerValidityS: number;
  private startedAt = 0;
  private tickTimer?: NodeJS.Timeout;
  private refreshTimer?: NodeJS.Timeout;
  private reconnecting = false;
  private joining?: AbortController;

  constructor(private readonly options: DiscoveryServiceOptions) {
    super();
    this.timings = { ...DEFAULT_TIMINGS, ...options.timings };
    this.providerValidityS = Math.max(60, Math.ceil((2 * this.timings.recordTtlMs) / 1000));
    const limits = { ...DEFAULT_FLOOD_LIMITS, ...options.floodLimits };
    this.gossipGuard = new FloodGuard(limits);
    this.reputationGuard = new FloodGuard(limits);
    this.log = options.logger.child({ component: 'discovery' });
  }

  get key(): NodeKey {
    return this.options.key;
  }

  /** The libp2p node, for what this class does not wrap (tests, benchmarks, dialing). */
  get libp2p(): DiscoveryLibp2p {
    return this.started().libp2p;
  }

  get isStarted(): boolean {
    return this.node !== undefined;
  }

  get peerId(): string {
    if (!this.identity) throw new DiscoveryNotStartedError();
    return this.identity.peerId;
  }

  /** The signed binding of this node's Nostr key and peer id. */
  get binding(): NostrEvent {
    if (!this.identity) throw new DiscoveryNotStartedError();
    return this.identity.binding;
  }

  async start(): Promise<void> {
    if (this.node) return;
    this.node = await createDiscoveryNode({
      ...this.options,
      providerValidityS: this.providerValidityS,
    });
    this.identity = { peerId: this.node.peerId, binding: this.node.binding };
    this.startedAt = Date.now();
    const pubsub = this.node.libp2p.services.pubsub;
    pubsub.topicValidators.set(PROVIDERS_TOPIC, (_source, message) => this.validateProvidersMessage(message));
    pubsub.topicValidators.set(HEARTBEAT_TOPIC, (_source, message) => this.validateHeartbeat(message));
    pubsub.topicValidators.set(REPUTATION_TOPIC, (_source, message) => this.validateReputation(message));
    pubsub.addEventListener('message', this.onMessage);
    if (this.options.followGossip !== false) for (const topic of [PROVIDERS_TOPIC, HEARTBEAT_TOPIC, REPUTATION_TOPIC]) pubsub.subscribe(topic);
    await serveProviderRecord(this.node.libp2p, () => this.current?.event);
    const connected = await this.node.connectBootstrap();
    this.log.info({ peerId: this.node.peerId, multiaddrs: this.node.multiaddrs(), connections: connected }, 'discovery started');
    this.startJoining(this.node);
    this.tickTimer = setInterval(() => void this.tick().catch((error: unknown) => this.log.warn({ err: error }, 'discovery tick failed')), this.timings.heartbeatIntervalMs);
    this.tickTimer.unref();
  }

  async stop(): Promise<void> {
    const node = this.node;
    if (!node) return;
    await this.withdraw().catch((error: unknown) => this.log.warn({ err: error }, 'withdrawing the provider record failed'));
    clearInterval(this.tickTimer);
    clearTimeout(this.refreshTimer);
    this.joining?.abort();
    node.libp2p.services.pubsub.removeEventListener('message', this.onMessage);
    await node.stop();
    this.node = undefined;
    this.log.info('discovery stopped');
  }

  multiaddrs(): string[] {
    return this.node?.multiaddrs() ?? [];
  }

  /** The relay service and its limits, when this node offers one. */
  get relay(): DiscoveryNode['relay'] {
    return this.node?.relay;
  }

  /** Every provider this node currently knows, verified and alive, this node's own record included. */
  knownProviders(): KnownProvider[] {
    return this.directory.list();
  }

  /** Our signed record while announced. */
  currentRecord(): SignedProviderRecord | undefined {
    return this.current;
  }

  /**
   * Signs and publishes this node's provider record: gossiped, served on the record protocol, and provided in the
   * DHT under each model and GPU class; then refreshed at half its TTL and heartbeated until withdraw() or stop().
   * Calling it again replaces the record at once (models or price changed).
   */
  async announce(parameters: AnnounceParameters): Promise<ProviderRecord> {
    this.started();
    this.announcement = parameters;
    const record = await this.publishRecord();
    return record;
  }

  /** Stops announcing: no more refreshes or heartbeats, DHT pointers no longer renewed, a leaving notice gossiped. */
  async withdraw(): Promise<void> {
    const node = this.started();
    if (!this.current) return;
    clearTimeout(this.refreshTimer);
    const leaving = createLeaving(this.options.key, node.peerId);
    this.current = undefined;
    this.announcement = undefined;
    this.directory.remove(node.peerId, 'left');
    await Promise.all(
      [...this.providedAt.keys()].map(async (key) => {
        await node.libp2p.contentRouting.cancelReprovide(await cidOfKey(key)).catch((error: unknown) => this.log.debug({ err: error, key }, 'cancelReprovide failed'));
      }),
    );
    this.providedAt.clear();
    await this.publish(PROVIDERS_TOPIC, encodeGossip({ v: 1, type: 'leaving', event: leaving }));
    this.log.info('provider record withdrawn');
  }

  /**
   * Providers that serve the model and can hold it, ranked best first. Asks the DHT for the model's providers,
   * fetches and verifies the records it does not hold yet, pings the best candidates (evicting those that do not
   * answer) and ranks them with rankProviderRecords.
   */
  async findProviders({ model, sha256, memoryBytes = 0, limit = 10, timeoutMs }: FindProvidersParameters): Promise<FindProvidersReturnType> {
    const need = { model, memoryBytes, ...(sha256 ? { sha256 } : {}) };
    return this.rankedLookup(modelKey(model), { limit, timeoutMs }, () => this.directory.serving(model, sha256), (candidates) => rankProviderRecords(candidates, need));
  }

  /**
   * Providers that run RPC stages for this head, ranked best first (rankStageOffers): those listed in the DHT
   * under the stages key, their records fetched and verified, the best candidates pinged.
   */
  async findStageProviders({ head, minMemoryBytes = 0, limit = 8, timeoutMs }: FindStageProvidersParameters): Promise<FoundStageProvider[]> {
    return this.rankedLookup(STAGES_KEY, { limit, timeoutMs }, () => this.directory.list(), (candidates) => rankStageOffers(candidates, { head, minMemoryBytes }));
  }

  /**
   * One lookup under a DHT key: fetches the records the DHT points at that we lack or have no connection to, pings
   * the best of `known()` as `rank` orders them, and ranks them again with the latencies measured.
   */
  private async rankedLookup<R extends KnownProvider>(
    key: string,
    { limit, timeoutMs }: { limit: number; timeoutMs: number | undefined },
    known: () => KnownProvider[],
    rank: (candidates: (KnownProvider & { reputation: number; latencyMs?: number })[]) => R[],
  ): Promise<R[]> {
    const node = this.started();
    const signal = AbortSignal.timeout(timeoutMs ?? this.timings.lookupTimeoutMs);
    const pointers = await this.findPointers(key, signal);
    // A provider we hold a record of but no connection to may have moved (a relay died, a new reservation): its
    // record is fetched again through the DHT's current addresses rather than pinged at the stale ones.
    const unknown = pointers.filter((peer) => !this.directory.get(peer.id.toString()) || !this.connectedTo(peer.id.toString(), node));
    await forEachConcurrently(unknown, LOOKUP_CONCURRENCY, (peer) => this.fetchRecord(peer, signal));
    this.evictStale();
    const candidates = () => known().map((provider) => ({ ...provider, reputation: this.reputationOf(provider.pubkey), ...this.storedLatency(provider) }));
    const shortlist = rank(candidates()).slice(0, Math.max(MIN_PINGED_CANDIDATES, limit * 2));
    await forEachConcurrently(shortlist, LOOKUP_CONCURRENCY, (provider) => this.measureLatency(provider, node));
    return rank(candidates()).slice(0, limit);
  }

  /** For the reputation issue: publishes opaque bytes on infernet/reputation/1. */
  async publishReputation(data: Uint8Array): Promise<void> {
    await this.publish(REPUTATION_TOPIC, data);
  }

  private started(): DiscoveryNode {
    if (!this.node) throw new DiscoveryNotStartedError();
    return this.node;
  }

  /** The stored net-test round trip, only where no live ping measured one. */
  private storedLatency(provider: KnownProvider): { latencyMs?: number } {
    if (provider.latencyMs !== undefined) return {};
    const stored = this.options.storedLatencyOf?.(provider.pubkey);
    return stored === undefined ? {} : { latencyMs: stored };
  }

  private reputationOf(pubkey: string): number {
    return this.options.reputationOf?.(pubkey) ?? 0.5;
  }

  private loadNow(): ProviderLoad {
    const announcement = this.announcement;
    return announcement?.load?.() ?? { activeJobs: 0, slots: announcement?.slots ?? 0 };
  }

  private async publishRecord(): Promise<ProviderRecord> {
    const node = this.started();
    const parameters = this.announcement;
    if (!parameters) throw new Error('nothing to announce');
    const { load: _load, slots: _slots, protocolVersion, ...input } = parameters;
    const signed = createProviderRecord({
      key: this.options.key,
      peerId: node.peerId,
      binding: node.binding,
      input: { ...input, protocolVersion: protocolVersion ?? PROTOCOL_VERSION, load: this.loadNow() },
      ttlMs: this.timings.recordTtlMs,
    });
    this.current = signed;
    this.upsert(signed, 'self');
    clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(() => void this.refresh(), this.timings.recordTtlMs / 2);
    this.refreshTimer.unref();
    await this.publish(PROVIDERS_TOPIC, encodeGossip({ v: 1, type: 'record', event: signed.event }));
    await this.provideKeys(announceKeysOf(signed.record));
    this.log.info({ models: signed.record.models.map((m) => m.name), expiresAt: new Date(signed.record.expiresAt).toISOString() }, 'provider record announced');
    return signed.record;
  }

  private async refresh(): Promise<void> {
    if (!this.announcement || !this.node) return;
    await this.publishRecord().catch((error: unknown) => this.log.warn({ err: error }, 'refreshing the provider record failed'));
  }

  /**
   * Puts our pointers in the DHT under each key, again only once half of their validity there has passed: a DHT
   * walk costs far more than signing and gossiping, so the record refreshes often and the pointers seldom.
   */
  private async provideKeys(keys: string[]): Promise<void> {
    const libp2p = this.started().libp2p;
    for (const key of this.providedAt.keys()) {
      if (keys.includes(key)) continue;
      this.providedAt.delete(key);
      await libp2p.contentRouting.cancelReprovide(await cidOfKey(key)).catch(() => undefined);
    }
    const now = Date.now();
    const due = keys.filter((key) => now - (this.providedAt.get(key) ?? -Infinity) >= (this.providerValidityS * 1000) / 2);
    await Promise.all(
      due.map(async (key) => {
        try {
          await libp2p.contentRouting.provide(await cidOfKey(key), { signal: AbortSignal.timeout(this.timings.provideTimeoutMs) });
          this.providedAt.set(key, now);
        } catch (error) {
          this.log.warn({ err: error, key }, 'providing to the DHT failed; retried at the next refresh');
        }
      }),
    );
  }

  private async publish(topic: string, data: Uint8Array): Promise<void> {
    try {
      await this.started().libp2p.services.pubsub.publish(topic, data);
    } catch (error) {
      this.log.debug({ err: error, topic }, 'gossip publish failed');
    }
  }

  /** Each heartbeat interval: our heartbeat, eviction of silent providers, and a bootstrap redial when alone. */
  private async tick(): Promise<void> {
    const node = this.node;
    if (!node) return;
    if (this.current) {
      const heartbeat: Heartbeat = { v: 1, ts: Date.now(), uptimeS: Math.floor((Date.now() - this.startedAt) / 1000), load: this.loadNow() };
      await this.publish(HEARTBEAT_TOPIC, encodeGossip(heartbeat));
    }
    this.evictStale();
    if (node.libp2p.getConnections().length === 0 && node.bootstrap.length > 0 && !this.reconnecting) {
      this.reconnecting = true;
      await node.connectBootstrap().finally(() => (this.reconnecting = false));
      // Back from isolation: the table holds only dead peers and the bootstrap, so join again.
      this.joining?.abort();
      this.startJoining(node);
    }
  }

  /** Fills the routing table in the background; start() does not wait, lookups work from the bootstrap alone. */
  private startJoining(node: DiscoveryNode): void {
    if (node.bootstrap.length === 0) return;
    const joining = new AbortController();
    this.joining = joining;
    void joinNetwork(node.libp2p, {
      bootstrapPeers: node.bootstrap.length,
      signal: joining.signal,
      onLookup: (progress) => this.log.debug(progress, 'join lookup'),
    })
      .catch((error: unknown) => this.log.warn({ err: error }, 'joining the DHT failed'))
      .finally(() => {
        if (this.joining === joining) this.joining = undefined;
      });
  }

  /** True while this node is still looking itself up to fill its routing table after (re)joining. */
  get isJoining(): boolean {
    return this.joining !== undefined;
  }

  private evictStale(): void {
    for (const removed of this.directory.evictStale(Date.now(), this.timings.heartbeatTtlMs)) this.emitRemoved(removed);
  }

  private emitRemoved(removed: RemovedProvider): void {
    this.log.info({ peer: removed.provider.peerId, reason: removed.reason }, 'provider removed');
    this.emit('provider:removed', removed);
  }

  private upsert(signed: SignedProviderRecord, source: KnownProvider['source']): void {
    const result = this.directory.upsert(signed, source, Date.now());
    if (result === 'full') return void this.log.debug({ peer: signed.record.peerId, source }, 'provider not kept: the directory is full');
    const provider = this.directory.get(signed.record.peerId)!;
    if (result === 'added') {
      this.log.info({ peer: provider.peerId, source, endpoint: provider.record.endpoint }, 'provider added');
      this.emit('provider:added', provider);
    } else if (result === 'updated') this.emit('provider:updated', provider);
  }

  private async findPointers(key: string, signal: AbortSignal): Promise<PeerInfo[]> {
    const libp2p = this.started().libp2p;
    const found = new Map<string, PeerInfo>();
    try {
      for await (const provider of libp2p.contentRouting.findProviders(await cidOfKey(key), { signal })) {
        const id = provider.id.toString();
        if (id !== libp2p.peerId.toString()) found.set(id, provider);
        if (found.size >= MAX_DHT_PROVIDERS_PER_LOOKUP) break;
      }
    } catch (error) {
      if (!signal.aborted) this.log.warn({ err: error, key }, 'DHT provider lookup failed');
    }
    return [...found.values()];
  }

  private async fetchRecord(peer: PeerInfo, signal: AbortSignal): Promise<void> {
    const libp2p = this.started().libp2p;
    const peerId = peer.id.toString();
    try {
      if (peer.multiaddrs.length) await libp2p.peerStore.merge(peer.id, { multiaddrs: peer.multiaddrs });
      const event = await fetchProviderRecord(libp2p, peer.id, signal);
      this.upsert(await verifyProviderRecord(event, { expectedPeerId: peerId }), 'dht');
    } catch (error) {
      if (error instanceof RecordFetchError) this.log.debug({ peer: peerId, err: error }, 'provider from the DHT unreachable');
      else this.reject(peerId, 'fetch', error as Error);
    }
  }

  private async measureLatency(provider: KnownProvider, node: DiscoveryNode): Promise<void> {
    if (provider.source === 'self') return void this.directory.reachable(provider.peerId, 0, Date.now());
    try {
      const rtt = await pingPeer(node.libp2p, peerIdFromString(provider.peerId), { signal: AbortSignal.timeout(this.timings.pingTimeoutMs) });
      this.directory.reachable(provider.peerId, rtt, Date.now());
    } catch (error) {
      // A relayed (limited) connection may refuse a ping stream while the peer is plainly there: a connection
      // that is open now (its record was just fetched over it, or a job session runs on it) keeps it listed.
      if (this.connectedTo(provider.peerId, node)) {
        this.log.debug({ peer: provider.peerId, err: (error as Error).message }, 'provider did not answer a ping but is connected');
        return;
      }
      this.log.info({ peer: provider.peerId, err: (error as Error).message }, 'provider did not answer a ping');
      const removed = this.directory.remove(provider.peerId, 'unreachable');
      if (removed) this.emitRemoved(removed);
    }
  }

  private connectedTo(peerId: string, node: DiscoveryNode): boolean {
    return node.libp2p.getConnections(peerIdFromString(peerId)).some((connection) => connection.status === 'open');
  }

  private reject(peerId: string, via: RecordRejectedEvent['via'], error: Error): void {
    this.log.warn({ peer: peerId, via, error: error.name, reason: error.message }, 'provider record rejected');
    this.emit('record:rejected', { peerId, via, error });
  }

  /** The flood check every gossip validator starts with; logs a peer once when it goes over. */
  private admit(guard: FloodGuard, message: Message): string | undefined {
    if (message.type !== 'signed') return undefined;
    const peerId = message.from.toString();
    const verdict = guard.admit(peerId);
    if (verdict === 'accept') return peerId;
    if (verdict === 'banned') {
      const until = Date.now() + guard.limits.banMs;
      this.log.warn({ peer: peerId, topic: message.topic, limit: guard.limits.maxMessages, intervalMs: guard.limits.intervalMs, until: new Date(until).toISOString() }, 'peer is flooding: its messages are ignored for a while');
      this.emit('peer:flooding', { peerId, topic: message.topic, until });
    }
    return undefined;
  }

  private async validateProvidersMessage(message: Message): Promise<TopicValidatorResult> {
    if (message.type !== 'signed') return TopicValidatorResult.Reject;
    const peerId = this.admit(this.gossipGuard, message);
    if (!peerId) return TopicValidatorResult.Ignore;
    try {
      const decoded = decodeProvidersMessage(message.data);
      if (decoded.type === 'record') {
        this.validated.set(message, { kind: 'record', verified: await verifyProviderRecord(decoded.event, { expectedPeerId: peerId }) });
      } else {
        // The binding to a record is checked where it is applied; here only that the sender signed it, and lately.
        verifyLeaving(decoded.event, { pubkey: decoded.event.pubkey, peerId, notBefore: 0 });
        this.validated.set(message, { kind: 'leaving', event: decoded.event });
      }
      return TopicValidatorResult.Accept;
    } catch (error) {
      if (!isRecordRejection(error) && !(error instanceof MalformedGossipError)) throw error;
      this.reject(peerId, 'gossip', error);
      // An expired record may just have lapsed in flight: drop it without blaming the relay.
      return error instanceof RecordExpiredError ? TopicValidatorResult.Ignore : TopicValidatorResult.Reject;
    }
  }

  private validateHeartbeat(message: Message): TopicValidatorResult {
    if (message.type !== 'signed') return TopicValidatorResult.Reject;
    const peerId = this.admit(this.gossipGuard, message);
    if (!peerId) return TopicValidatorResult.Ignore;
    try {
      const heartbeat = decodeHeartbeat(message.data);
      // A heartbeat replayed long after it was sent must not keep a dead provider alive.
      if (Math.abs(Date.now() - heartbeat.ts) > MAX_CLOCK_SKEW_MS) return TopicValidatorResult.Ignore;
      this.validated.set(message, { kind: 'heartbeat', heartbeat });
      return TopicValidatorResult.Accept;
    } catch (error) {
      this.log.debug({ peer: peerId, err: error }, 'malformed heartbeat');
      return TopicValidatorResult.Reject;
    }
  }

  private validateReputation(message: Message): TopicValidatorResult {
    if (message.type !== 'signed') return TopicValidatorResult.Reject;
    return this.admit(this.reputationGuard, message) ? TopicValidatorResult.Accept : TopicValidatorResult.Ignore;
  }

  private readonly onMessage = (event: CustomEvent<Message>): void => {
    const message = event.detail;
    if (message.type !== 'signed') return;
    const peerId = message.from.toString();
    if (message.topic === REPUTATION_TOPIC) {
      this.emit('reputation', { from: peerId, data: message.data, receivedAt: Date.now() });
      return;
    }
    const validated = this.validated.get(message);
    if (!validated) return;
    if (validated.kind === 'record') this.upsert(validated.verified, 'gossip');
    else if (validated.kind === 'heartbeat') {
      if (this.directory.heartbeat(peerId, validated.heartbeat, Date.now())) this.emit('heartbeat', { peerId, heartbeat: validated.heartbeat });
    } else this.applyLeaving(peerId, validated.event);
  };

  private applyLeaving(peerId: string, event: NostrEvent): void {
    const known = this.directory.get(peerId);
    if (!known) return;
    try {
      verifyLeaving(event, { pubkey: known.pubkey, peerId, notBefore: Math.floor(known.record.issuedAt / 1000) });
    } catch (error) {
      this.reject(peerId, 'gossip', error as Error);
      return;
    }
    // Whole seconds: a record issued within the second it left in counts as older.
    const removed = this.directory.markLeft(peerId, (event.created_at + 1) * 1000);
    if (removed) this.emitRemoved(removed);
  }
}

/** Runs task over items with at most `concurrency` at once; a task's failure is its own business. */
async function forEachConcurrently<T>(items: readonly T[], concurrency: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await task(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}
