// Reputation: signed Nostr events for job outcomes (kind 7950), carried by Nostr relays and the discovery gossip
// topic, kept in the node's store, and a provider score from them that discovery and job matching rank by.
export {
  createJobOutcomeEvent,
  verifyJobOutcomeEvent,
  EVENT_KIND_JOB_OUTCOME,
  JOB_OUTCOME_TOPIC_TAG,
  JobOutcomeKind,
  JobOutcomeTags,
  ReputationEventRejectedError,
  type JobOutcomeReport,
  type JobRating,
} from './reputation-event.js';
export {
  scoreProviders,
  valueWeight,
  decayWeight,
  UNPROVEN_SCORE,
  UNPROVEN_PRIOR,
  unprovenReputation,
  DEFAULT_HALF_LIFE_MS,
  OUTCOME_WEIGHTS,
  MAX_WEIGHT_PER_RATER,
  type ProviderReputation,
  type ReputationScoringOptions,
} from './reputation-score.js';
export { FileReputationLedger, PocketBaseReputationLedger, type LoadRatingsOptions, type RatingSource, type ReputationLedger, type StoredRating } from './reputation-ledger.js';
export {
  ReputationService,
  encodeReputationGossip,
  decodeReputationGossip,
  type ReputationGossip,
  type ReputationServiceOptions,
  type RejectedRating,
} from './reputation-service.js';
export { outcomeReportOf, jobValueOf } from './outcome-report.js';
export { ReputationFeedReader } from './reputation-feed-reader.js';
export { renderReputationDoc } from './reputation-doc.js';
export { startNodeReputation, reputationLedgerOf, REPUTATION_FILE, type StartNodeReputationOptions } from './node-reputation.js';
export { admitsRating, ratingsToEvict, retainedAfterEviction, DEFAULT_RETENTION, MAX_RATINGS, MAX_RATINGS_PER_UNPROVEN_RATER, type HeldRating, type RetentionLimits } from './rating-retention.js';
