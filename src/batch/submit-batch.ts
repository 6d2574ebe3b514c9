// Submitting a batch: the input checked whole, then stored as queued for the aggregator's batch runner.
import { randomBytes } from 'node:crypto';
import type { Price, VerificationPolicy } from '../protocol/index.js';
import { parseBatchInput } from './batch-input.js';
import type { BatchRecord, BatchStore } from './batch-store.js';

export const DEFAULT_REQUEST_TIMEOUT_MS = 120_000;

export interface SubmitBatchOptions {
  /** The JSONL text. */
  input: string;
  /** Where it came from (a file path, a content id), for errors and `status`. */
  inputName: string;
  model: string;
  priceCap?: Price;
  verification?: VerificationPolicy;
  requestTimeoutMs?: number;
  /** Names which API made the batch: OpenAI's `batch_...` (the default), Anthropic's Message Batches `msgbatch_...`. */
  idPrefix?: BatchIdPrefix;
}

export type BatchIdPrefix = 'batch' | 'msgbatch';

export function newBatchId(prefix: BatchIdPrefix = 'batch'): string {
  return `${prefix}_${randomBytes(8).toString('hex')}`;
}

/** Throws BatchInputError naming every bad line; nothing is stored then. */
export async function submitBatch(store: BatchStore, options: SubmitBatchOptions): Promise<BatchRecord> {
  const requests = parseBatchInput(options.input, options.model, options.inputName);
  return store.createBatch(
    {
      batchId: newBatchId(options.idPrefix),
      model: options.model,
      inputName: options.inputName,
      options: {
        requestTimeoutMs: options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
        ...(options.priceCap ? { priceCap: options.priceCap } : {}),
        ...(options.verification ? { verification: options.verification } : {}),
      },
    },
    requests,
  );
}
