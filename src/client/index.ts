// The client role: runs jobs through an aggregator for every front end of a node (CLI, HTTP APIs, interfaces, batches).
export { runClientJob, clientJobFailureOf, type RunClientJobParameters, type RunClientJobReturnType, type ClientJobHooks, type ClientJobFailure } from './run-client-job.js';
export { ClientJobRecord } from './client-job-record.js';
export { rankAggregators, scoreAggregator, AGGREGATOR_RANKING_WEIGHTS, type AggregatorCandidate, type AggregatorScores, type RankedAggregator } from './rank-aggregators.js';
export { findAggregators, discoverAggregators, aggregatorCandidateOf, readAggregatorReputation, NoAggregatorFoundError, type FindAggregatorsParameters, type FoundAggregator } from './find-aggregators.js';
export {
  runJobAcrossAggregators,
  aggregatorAttemptJobId,
  AggregatorsExhaustedError,
  MAX_AGGREGATOR_ATTEMPTS,
  type AggregatorLoss,
  type RunJobAcrossAggregatorsParameters,
  type RunJobAcrossAggregatorsReturnType,
} from './run-job-across-aggregators.js';
export { runJobThroughAggregator, redialUntil, RESUME_WAIT_MS, type RunJobThroughAggregatorParameters } from './run-job-through-aggregator.js';
export { runJob, payJobsThrough, JobFailedError, type JobHooks, type JobOutcome } from './job-client.js';
export { runVerifiedJob, type VerifiedJobOutcome, type RunVerifiedJobOptions } from './run-verified-job.js';
export { requestNetworkModels, ModelListUnavailableError, MODELS_REQUEST_TIMEOUT_MS } from './network-models.js';
export { aggregatorExperienceOf, experiencedReputation, aggregatorReputation, type AggregatorExperience } from './aggregator-experience.js';
