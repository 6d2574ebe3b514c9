// Batch jobs: a JSONL file of OpenAI-style requests split into shards across providers, run as ordinary jobs,
// and merged back into one output file in input order.
export { parseBatchInput, specOfBatchRequest, BatchInputError, BATCH_ENDPOINTS, MAX_BATCH_LINES, type BatchRequest, type BatchEndpoint, type BatchLineProblem } from './batch-input.js';
export { mergeResults, mergedJsonl, successLine, errorLine, isErrorLine, errorCodeOfLine, BatchMergeError, type BatchResult } from './batch-output.js';
export { planShards, chooseSteal, apportion, type ProviderCapacity, type PlannedShard, type StealCandidate, type StealDecision } from './shard-plan.js';
export { BatchCoordinator, BatchProgressUnsavedError, type BatchCoordinatorOptions, type BatchProvider, type RunBatchRequest, type BatchSummary } from './batch-coordinator.js';
export { PocketBaseBatchStore, BatchNotFoundError, BatchNotCancellableError, BatchNotEndedError, batchStatusOf, hasEveryLine, isBatchEnded, isCancelRequested, type BatchStore, type BatchRecord, type BatchStatus, type ShardRecord, type BatchOptions, type BatchState, type ShardState, type NewBatch } from './batch-store.js';
export { openBatchStore, BatchStorageUnavailableError, type OpenedBatchStore } from './open-batch-store.js';
export { BatchService, startBatchService, type RunningBatchService } from './batch-service.js';
export { finishCancelledBatch, BATCH_CANCELLED } from './batch-cancel.js';
export { submitBatch, newBatchId, DEFAULT_REQUEST_TIMEOUT_MS, type SubmitBatchOptions, type BatchIdPrefix } from './submit-batch.js';
