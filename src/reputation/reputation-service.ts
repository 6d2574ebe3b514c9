// Reputation in the daemon: signs an outcome event for each job outcome this node witnessed, keeps it, and
// publishes it to the configured Nostr relays and the discovery gossip topic; accepts other nodes' outcome events
// from both after verifying them; and scores providers from everything it holds (reputation-score.ts).
import { EventEmitter } from 'node:events';
import type { NodeKey } from '../identity/index.js';
import type { Logger } from '../log/index.js';
import type { NostrEvent } from '../protocol/index.js';
import { NostrRelayPool, type PublishReport } from '../identity/index.js';
import { createJobOutcomeEvent, EVENT_KIND_JOB_OUTCOME, verifyJobOutcomeEvent, ReputationEventRejectedError, MAX_EVENTS_PER_GOSSIP, type JobOutcomeReport, type JobRating } from './reputation-event.js';
import type { RatingSource, ReputationLedger, StoredRating } from './reputation-ledger.js';
import { admitsRating, DEFAULT_RETENTION, ratingsToEvict, retainedAfterEviction } from './rating-retention.js';
import { scoreProviders, unprovenReputation, UNPROVEN_SCORE, type ProviderReputation } from './reputation-score.js';

/** The part of discovery reputation needs: the gossip topic, both ways. */
export interface ReputationGossip {
  publishReputation(data: Uint8Array): Promise<void>;
  on(event: 'reputation', listener: (message: { from: string; data: Uint8Array }) => void): unknown;
  off(event: 'reputation', listener: (message: { from: string; data: Uint8Array }) => void): unknown;
}

export interface ReputationServiceOptions {
  key: NodeKey;
  logger: Logger;
  ledger?: ReputationLedger;
  /** ws:// or wss:// URLs of Nostr relays. */
  relays?: readonly string[];
  /** Hex keys of raters trusted outright, besides this node. */
  trusted?: readonly string[];
  halfLifeMs?: number;
  /** How soon an unreachable relay is tried again. */
  relayRetryMs?: number;
  now?: () => number;
  /** Ratings kept at most, in memory and in the ledger (default 50,000; tests use fewer). */
  maxRatings?: number;
}

export interface RejectedRating {
  via: RatingSource;
  reason: string;
}

export interface ReputationServiceEvents {
  rating: [StoredRating];
  rejected: [RejectedRating];
}

/** How stale the standings that decide whether a rater's next rating is kept may be (a flood must not rescore each). */
const ADMISSION_STANDING_MS = 1000;
const GOSSIP_VERSION = 1;
const GOSSIP_BATCH_MS = 1000;
/** What a relay that comes (back) up is sent of this node's own events: the last day's, at most this many. */
const CATCH_UP_WINDOW_MS = 24 * 60 * 60 * 1000;
const MAX_CATCH_UP_EVENTS = 1000;

export class ReputationService extends EventEmitter<ReputationServiceEvents> {
  private readonly ratings = new Map<string, StoredRating>();
  /**
   * This node's own ratings by provider and run, to event id: a run rated again (its job event handled twice by the
   * job event feed, after a crash) is answered with the rating kept, not signed and sent a second time.
   */
  private readonly ownRatings = new Map<string, string>();
  /** Ratings held per rater, for the bound on raters without standing. */
  private readonly heldPerRater = new Map<string, number>();
  private scores?: Map<string, ProviderReputation>;
  /** The last scores computed, kept across changes: admission reads them, at most ADMISSION_STANDING_MS old. */
  private lastScores?: Map<string, ProviderReputation>;
  private scoredAt = 0;
  private relays?: NostrRelayPool;
  private gossip?: ReputationGossip;
  private readonly gossipQueue: NostrEvent[] = [];
  private gossipTimer?: NodeJS.Timeout;
  /** Counts of events refused, by where they came from; for tests and logs. */
  readonly rejectedCount: Record<RatingSource, number> = { local: 0, relay: 0, gossip: 0 };

  private constructor(private readonly options: ReputationServiceOptions) {
    super();
  }

  static async start(options: ReputationServiceOptions): Promise<ReputationService> {
    const service = new ReputationService(options);
    // This node's and its trusted raters' ratings first: a store filled by a flood must not crowd them out.
    const loaded = (await options.ledger?.load({ limit: service.maxRatings, preferRaters: service.anchors })) ?? [];
    for (const rating of loaded.reverse()) service.keep(rating);
    if (options.relays?.length) {
      service.relays = new NostrRelayPool({
        urls: options.relays,
        logger: options.logger,
        purpose: 'reputation',
        filter: { kinds: [EVENT_KIND_JOB_OUTCOME] },
        // Signature-failed events too: receive() counts them as refused.
        onEvent: (event) => void service.receive(event, 'relay'),
        onConnect: (url) => void service.catchUp(url),
        ...(options.relayRetryMs ? { retryMs: options.relayRetryMs } : {}),
      });
      await service.relays.start();
    }
    return service;
  }

  get publicKey(): string {
    return this.options.key.publicKey;
  }

  private get maxRatings(): number {
    return this.options.maxRatings ?? DEFAULT_RETENTION.maxRatings;
  }

  /** This node and the raters its operator trusts: standing 1 whatever the ratings say. */
  private get anchors(): string[] {
    return [this.options.key.publicKey, ...(this.options.trusted ?? [])];
  }

  /** Listens to and publishes on the gossip reputation topic of a started discovery service. */
  attachGossip(gossip: ReputationGossip): void {
    this.gossip = gossip;
    gossip.on('reputation', this.onGossip);
  }

  /** Signs, keeps and publishes the outcome of one run this node witnessed. */
  async record(report: JobOutcomeReport): Promise<{ rating: JobRating; relays: PublishReport | undefined }> {
    const earlier = this.ratings.get(this.ownRatings.get(runKey(report.provider, report.jobId)) ?? '');
    if (earlier) return { rating: earlier, relays: undefined };
    const event = createJobOutcomeEvent(this.options.key, report, Math.floor(this.now() / 1000));
    const rating = verifyJobOutcomeEvent(event, this.now());
    await this.accept(rating, 'local');
    this.queueForGossip(event);
    const relays = await this.relays?.publish(event);
    if (relays?.refused.length) this.options.logger.warn({ refused: relays.refused }, 'a relay refused an outcome event');
    return { rating, relays };
  }

  /** An outcome event from elsewhere: kept when valid and new. Resolves true when it was new. */
  async receive(event: unknown, via: RatingSource): Promise<boolean> {
    // A rater without standing past its bound is not kept: refused before the signature is checked, the costly part
    // of a flood. The key is unverified here, but a forged one only refuses what would not have been kept anyway.
    const claimed = (event as { pubkey?: unknown } | null)?.pubkey;
    if (typeof claimed === 'string' && !this.admits(claimed)) return false;
    let rating: JobRating;
    try {
      rating = verifyJobOutcomeEvent(event, this.now());
    } catch (error) {
      if (!(error instanceof ReputationEventRejectedError)) throw error;
      this.rejectedCount[via] += 1;
      this.options.logger.warn({ via, reason: error.message }, 'outcome event refused');
      this.emit('rejected', { via, reason: error.message });
      return false;
    }
    if (this.ratings.has(rating.eventId)) return false;
    await this.accept(rating, via);
    return true;
  }

  /** The provider's score in [0, 1]; UNPROVEN_SCORE (below any proven provider) while nothing with standing has rated it. */
  scoreOf(pubkey: string): number {
    return this.currentScores().get(pubkey)?.score ?? UNPROVEN_SCORE;
  }

  reputationOf(pubkey: string): ProviderReputation {
    return this.currentScores().get(pubkey) ?? unprovenReputation();
  }

  /** Ratings held about a provider, newest first. */
  ratingsOf(pubkey: string): StoredRating[] {
    return [...this.ratings.values()].filter((rating) => rating.provider === pubkey).sort((a, b) => b.createdAt - a.createdAt);
  }

  get size(): number {
    return this.ratings.size;
  }

  async stop(): Promise<void> {
    await this.flushGossip();
    this.gossip?.off('reputation', this.onGossip);
    this.relays?.stop();
  }

  /**
   * A relay that was unreachable when this node published (down at start, or since) gets this node's own recent
   * events when it connects; relays keep one copy per event id, so sending again is harmless.
   */
  private async catchUp(url: string): Promise<void> {
    const since = this.now() - CATCH_UP_WINDOW_MS;
    const own = [...this.ratings.values()].filter((rating) => rating.via === 'local' && rating.createdAt >= since).slice(-MAX_CATCH_UP_EVENTS);
    for (const rating of own) if (!(await this.relays!.publishTo(url, rating.event))) break;
  }

  /**
   * Events go out on gossip in batches, at most one message a second: gossip receivers ignore a peer that sends more
   * than its share of messages (discovery's flood guard), and a busy aggregator witnesses several runs a second.
   */
  private queueForGossip(event: NostrEvent): void {
    if (!this.gossip) return;
    this.gossipQueue.push(event);
    if (this.gossipQueue.length >= MAX_EVENTS_PER_GOSSIP) void this.flushGossip();
    else this.gossipTimer ??= setTimeout(() => void this.flushGossip(), GOSSIP_BATCH_MS).unref();
  }

  private async flushGossip(): Promise<void> {
    clearTimeout(this.gossipTimer);
    this.gossipTimer = undefined;
    const events = this.gossipQueue.splice(0);
    if (!events.length || !this.gossip) return;
    await this.gossip.publishReputation(encodeReputationGossip(events)).catch((error: Error) => this.options.logger.debug({ err: error.message, events: events.length }, 'reputation gossip not published'));
  }

  private readonly onGossip = (message: { from: string; data: Uint8Array }): void => {
    let events: unknown[];
    try {
      events = decodeReputationGossip(message.data);
    } catch (error) {
      this.rejectedCount.gossip += 1;
      this.emit('rejected', { via: 'gossip', reason: (error as Error).message });
      return;
    }
    for (const event of events) void this.receive(event, 'gossip').catch((error: Error) => this.options.logger.warn({ err: error.message }, 'cannot keep a gossiped outcome event'));
  };

  private async accept(rating: JobRating, via: RatingSource): Promise<void> {
    if (!this.admits(rating.rater)) return;
    const stored = { ...rating, via };
    const evicted = this.keep(stored);
    this.emit('rating', stored);
    await this.options.ledger?.append(rating, via).catch((error: Error) => this.options.logger.error({ err: error.message, eventId: rating.eventId }, 'cannot store an outcome event'));
    if (evicted.length) await this.options.ledger?.remove(evicted).catch((error: Error) => this.options.logger.warn({ err: error.message, ratings: evicted.length }, 'cannot drop evicted outcome events from the store'));
  }

  /** Whether one more rating of this rater is kept: always for one with standing, a bounded few otherwise. */
  private admits(rater: string): boolean {
    return admitsRating(this.heldPerRater.get(rater) ?? 0, this.standingOf(rater, this.admissionScores()), { ...DEFAULT_RETENTION, maxRatings: this.maxRatings });
  }

  private standingOf(rater: string, scores: ReadonlyMap<string, ProviderReputation>): number {
    return this.anchors.includes(rater) ? 1 : (scores.get(rater)?.standing ?? 0);
  }

  private admissionScores(): Map<string, ProviderReputation> {
    if (this.lastScores && this.now() - this.scoredAt <= ADMISSION_STANDING_MS) return this.lastScores;
    return this.currentScores();
  }

  /** Keeps a rating; past the bound drops those of the raters with the least standing. Returns the dropped ids. */
  private keep(rating: StoredRating): string[] {
    if (!this.ratings.has(rating.eventId)) this.heldPerRater.set(rating.rater, (this.heldPerRater.get(rating.rater) ?? 0) + 1);
    this.ratings.set(rating.eventId, rating);
    if (rating.rater === this.publicKey) this.ownRatings.set(runKey(rating.provider, rating.jobId), rating.eventId);
    this.scores = undefined;
    if (this.ratings.size <= this.maxRatings) return [];
    const scores = this.currentScores();
    const evicted = ratingsToEvict([...this.ratings.values()], (rater) => this.standingOf(rater, scores), retainedAfterEviction(this.maxRatings));
    for (const eventId of evicted) {
      const dropped = this.ratings.get(eventId)!;
      this.ratings.delete(eventId);
      if (this.ownRatings.get(runKey(dropped.provider, dropped.jobId)) === eventId) this.ownRatings.delete(runKey(dropped.provider, dropped.jobId));
      const held = (this.heldPerRater.get(dropped.rater) ?? 1) - 1;
      if (held > 0) this.heldPerRater.set(dropped.rater, held);
      else this.heldPerRater.delete(dropped.rater);
    }
    this.scores = undefined;
    return evicted;
  }

  /** Scores are recomputed after a change, and at most once a second otherwise (their decay is slow). */
  private currentScores(): Map<string, ProviderReputation> {
    const now = this.now();
    if (!this.scores || now - this.scoredAt > 1000) {
      this.scores = scoreProviders([...this.ratings.values()], { self: this.options.key.publicKey, trusted: this.options.trusted ?? [], now, ...(this.options.halfLifeMs ? { halfLifeMs: this.options.halfLifeMs } : {}) });
      this.lastScores = this.scores;
      this.scoredAt = now;
    }
    return this.scores;
  }

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }
}

/** On infernet/reputation/1: {"v":1,"events":[<kind-7950 event>, ...]}, at most MAX_EVENTS_PER_GOSSIP. */
export function encodeReputationGossip(events: readonly unknown[]): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ v: GOSSIP_VERSION, events }));
}

/** The events of a gossip message, each still to be verified; throws ReputationEventRejectedError on anything else. */
export function decodeReputationGossip(data: Uint8Array): unknown[] {
  let message: { v?: unknown; events?: unknown };
  try {
    message = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(data)) as typeof message;
  } catch (cause) {
    throw new ReputationEventRejectedError('the reputation gossip message is not UTF-8 JSON', { cause });
  }
  if (message?.v !== GOSSIP_VERSION || !Array.isArray(message.events) || message.events.length > MAX_EVENTS_PER_GOSSIP) {
    throw new ReputationEventRejectedError('not a reputation gossip message');
  }
  return message.events;
}

function runKey(provider: string, jobId: string): string {
  return `${provider}\n${jobId}`;
}
