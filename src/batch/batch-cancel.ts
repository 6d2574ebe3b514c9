// Ending a cancelled batch: each request without a result gets a `batch_cancelled` error line, so the batch still
// answers every input line (its finished requests' answers in input order, the rest as errors, as the Batch API's
// error file lists them), its open shards are closed, and it is written `cancelled` with its counts. Run by what
// holds the batch: its coordinator once its in-flight requests are stopped, or the runner for a batch still queued.
import { errorCodeOfLine, errorLine, RESULT_CHUNK, type BatchRequestFailure, type BatchResult } from './batch-output.js';
import type { BatchRequest } from './batch-input.js';
import type { BatchRecord, BatchStore } from './batch-store.js';

export const BATCH_CANCELLED: BatchRequestFailure = { code: 'batch_cancelled', message: 'the batch was cancelled before this request finished' };

export async function finishCancelledBatch(store: BatchStore, batch: Pick<BatchRecord, 'batchId'>, requests: readonly BatchRequest[]): Promise<{ completed: number; failed: number; cancelled: number }> {
  const { batchId } = batch;
  /** Each request's first line: its error code, null for an answer. */
  const answered = new Map<number, string | null>();
  for (const result of await store.resultsOf(batchId)) if (!answered.has(result.index)) answered.set(result.index, errorCodeOfLine(result.line));
  const cancelled: BatchResult[] = [];
  requests.forEach((request, index) => {
    if (!answered.has(index)) cancelled.push({ index, line: errorLine(request, `${batchId}-${index}`, BATCH_CANCELLED) });
  });
  for (let start = 0; start < cancelled.length; start += RESULT_CHUNK) await store.appendResults(batchId, cancelled.slice(start, start + RESULT_CHUNK));
  const now = Date.now();
  const open = (await store.shardsOf(batchId)).filter((shard) => shard.state === 'running' || shard.state === 'pending');
  await store.saveShards(open.map((shard) => ({ ...shard, state: 'failed' as const, reason: 'the batch was cancelled', updatedAt: now })));
  const codes = [...answered.values()];
  // Lines an earlier end of the same cancel wrote count too: a batch may be ended twice (a restart between the two).
  const failed = codes.filter((code) => code !== null).length + cancelled.length;
  const counts = { completed: requests.length - failed, failed, cancelled: codes.filter((code) => code === BATCH_CANCELLED.code).length + cancelled.length };
  await store.updateBatch(batchId, { state: 'cancelled', ...counts, finishedAt: now });
  return counts;
}
