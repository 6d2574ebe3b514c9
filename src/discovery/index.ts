// Discovery: how nodes find each other (libp2p, a Kademlia DHT and gossip), what a provider announces about
// itself (a signed capability record), and how an aggregator picks providers for a model (a ranked lookup).
export { DiscoveryService } from './discovery-service.js';
export { DiscoveredProviderLinks, MAX_DISCOVERED_PROVIDER_LINKS, type DiscoveredLink, type FollowResult } from './discovered-provider-links.js';
export type {
  AnnounceParameters,
  DiscoveryEvents,
  DiscoveryServiceOptions,
  DiscoveryTimings,
  FindProvidersParameters,
  FindProvidersReturnType,
  FindStageProvidersParameters,
  FloodingPeerEvent,
  FoundProvider,
  FoundStageProvider,
  RecordRejectedEvent,
  ReputationMessage,
} from './discovery-service.js';
export {
  createDiscoveryNode,
  DEFAULT_LISTEN_ADDRESSES,
  type CreateDiscoveryNodeOptions,
  type DiscoveryLibp2p,
  type DiscoveryNode,
} from './create-discovery-node.js';
export { deriveLibp2pKey, type DeriveLibp2pKeyReturnType } from './libp2p-key.js';
export { createPeerBinding, verifyPeerBinding, type VerifyPeerBindingParameters } from './peer-binding.js';
export {
  createProviderRecord,
  JobEndpoint,
  ModelServed,
  ProviderLoad,
  ProviderRecord,
  offersStagesTo,
  servesModel,
  StageOffer,
  verifyProviderRecord,
  type CreateProviderRecordParameters,
  type ProviderRecordInput,
  type SignedProviderRecord,
  type VerifyProviderRecordOptions,
} from './provider-record.js';
export { GpuGroup, HardwareSummary, summariseHardware, summaryVramBytes } from './hardware-summary.js';
export { announceKeysOf, cidOfKey, gpuKey, modelKey, STAGES_KEY } from './announce-keys.js';
export { rankStageOffers, STAGE_RANKING_WEIGHTS, type RankedStageCandidate, type StageCandidate, type StageNeed } from './rank-stage-offers.js';
export { Heartbeat, ProvidersTopicMessage } from './gossip-messages.js';
export type { KnownProvider, RecordSource, RemovalReason, RemovedProvider } from './provider-directory.js';
export {
  LATENCY_HALF_SCORE_MS,
  NEUTRAL_REPUTATION,
  placementOf,
  RANKING_WEIGHTS,
  rankProviderRecords,
  type Placement,
  type ProviderNeed,
  type RankedCandidate,
  type RankingCandidate,
  type RankingScores,
} from './rank-provider-records.js';
export { FloodGuard, type FloodLimits, type FloodVerdict } from './flood-guard.js';
export * from './constants.js';
export * from './errors.js';
export * from './hardware/index.js';
export {
  AggregatorLoad,
  AggregatorRecord,
  AggregatorsTopicMessage,
  createAggregatorRecord,
  verifyAggregatorRecord,
  type AggregatorRecordInput,
  type CreateAggregatorRecordParameters,
  type SignedAggregatorRecord,
  type VerifyAggregatorRecordOptions,
} from './aggregator-record.js';
export {
  AggregatorDiscovery,
  type AggregatorAnnouncement,
  type AggregatorDiscoveryEvents,
  type AggregatorDiscoveryOptions,
  type AggregatorSource,
  type KnownAggregator,
} from './aggregator-discovery.js';
