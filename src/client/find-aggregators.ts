// Where a client's jobs go: the aggregators its config names (a fixed choice, in the order written), or else those
// found through discovery, ranked by rankAggregators. A client has no daemon: the lookup runs a libp2p node for
// its own duration, joins through the bootstrap peers and stops.
import type { NodeConfig } from '../config/index.js';
import { AggregatorDiscovery, DiscoveryService, type KnownAggregator } from '../discovery/index.js';
import { InfernetError } from '../errors/index.js';
import type { NodeKey } from '../identity/index.js';
import type { JobStore } from '../jobs/index.js';
import type { Logger } from '../log/index.js';
import { aggregatorReputation, EXPERIENCE_JOBS } from './aggregator-experience.js';
import { rankAggregators, type AggregatorCandidate, type RankedAggregator } from './rank-aggregators.js';

/** A lookup that finds nothing waits for the bootstrap peers this long at most before it gives up. */
const DEFAULT_LOOKUP_TIMEOUT_MS = 10_000;

export class NoAggregatorFoundError extends InfernetError {
  override readonly name = 'NoAggregatorFoundError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('no_provider', message, options);
  }
}

export type FoundAggregator = RankedAggregator<AggregatorCandidate & { load?: KnownAggregator['record']['load'] }>;

export interface FindAggregatorsParameters {
  config: NodeConfig;
  key: NodeKey;
  logger: Logger;
  /** The job's model: aggregators whose providers serve it rank first. */
  model?: string;
  /** An aggregator's reputation in [0, 1] by its Nostr key, where the node keeps one. */
  reputationOf?: (pubkey: string) => number | undefined;
  /** The node's job store: how the client's own jobs went at each aggregator weighs on its rank (aggregator-experience.ts). */
  store?: JobStore;
  timeoutMs?: number;
}

/**
 * The configured aggregators when the config names any (source config, never replaced by discovery); else every
 * aggregator discovery finds, best first. Throws NoAggregatorFoundError when there is none to use.
 */
export async function findAggregators(parameters: FindAggregatorsParameters): Promise<FoundAggregator[]> {
  const { config, model } = parameters;
  if (config.connect.length) return config.connect.map((endpoint) => ({ endpoint, models: [], source: 'config' as const, score: 1, scores: { reputation: 1, latency: 1, fee: 1 }, routesModel: true }));
  if (!config.discovery.enabled || !config.discovery.bootstrap.length) {
    throw new NoAggregatorFoundError('this node names no aggregator and has no bootstrap peer to find one: init with --connect WS_URL or --bootstrap MULTIADDR');
  }
  const found = await discoverAggregators(parameters);
  if (!found.length) throw new NoAggregatorFoundError(`no aggregator found through the bootstrap peers ${config.discovery.bootstrap.join(', ')}`);
  const reputationOf = parameters.store ? await readAggregatorReputation(parameters.store, parameters.reputationOf) : parameters.reputationOf;
  const candidates = found.map((known) => aggregatorCandidateOf(known, reputationOf));
  return rankAggregators(candidates, model === undefined ? {} : { model });
}

/** Aggregators' reputation as this client knows it: its recent jobs' attempts over the network's score. */
export async function readAggregatorReputation(store: JobStore, networkScoreOf?: (pubkey: string) => number | undefined): Promise<(pubkey: string) => number> {
  return aggregatorReputation(await store.list({ role: 'client', limit: EXPERIENCE_JOBS }), networkScoreOf);
}

/** What ranking reads of an aggregator discovery found: its signed record, its measured latency, its reputation. */
export function aggregatorCandidateOf(known: KnownAggregator, reputationOf?: (pubkey: string) => number | undefined): AggregatorCandidate & { load?: KnownAggregator['record']['load'] } {
  const reputation = reputationOf?.(known.pubkey);
  return {
    endpoint: known.record.endpoint,
    pubkey: known.pubkey,
    peerId: known.peerId,
    feeBps: known.record.feeBps,
    models: known.record.models,
    load: known.record.load,
    ...(known.latencyMs !== undefined ? { latencyMs: known.latencyMs } : {}),
    ...(reputation !== undefined ? { reputation } : {}),
    source: 'discovery',
  };
}

/** One lookup on a libp2p node of its own: joins, asks the DHT and its peers for aggregator records, stops. */
export async function discoverAggregators({ config, key, logger, timeoutMs = DEFAULT_LOOKUP_TIMEOUT_MS }: FindAggregatorsParameters): Promise<KnownAggregator[]> {
  const service = new DiscoveryService({
    key,
    logger,
    // A client dials out only: a loopback listener keeps it off relays and AutoNAT, and never clashes with the
    // ports of a daemon of the same home.
    listen: ['/ip4/127.0.0.1/tcp/0'],
    bootstrap: config.discovery.bootstrap,
    allow: config.discovery.allow,
    followGossip: false,
    nat: { relayClient: false, holePunch: false, autoNat: false },
  });
  await service.start();
  const aggregators = new AggregatorDiscovery(service, { logger, follow: false, lookupTimeoutMs: timeoutMs });
  try {
    await aggregators.start();
    return await aggregators.findAggregators();
  } finally {
    await aggregators.stop();
    await service.stop();
  }
}
