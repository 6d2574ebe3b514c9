// Anthropic's Message Batches API (/v1/messages/batches) over the node's batch runner (src/batch), as Anthropic's
// SDKs call it: the requests come inline, run as one batch of /v1/messages lines (msgbatch_... ids), and their
// results are read back as Anthropic's result lines (succeeded, errored, canceled) once the batch has ended.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { BatchInputError, BatchNotCancellableError, BatchNotEndedError, BatchNotFoundError, batchStatusOf, isBatchEnded, mergeResults, submitBatch, type BatchRecord, type BatchStore } from '../batch/index.js';
import { ApiError, badRequest } from './api-error.js';
import { anthropicPage, queryOf } from './cursor-page.js';
import { MAX_BATCH_FILE_BYTES } from './batch-routes.js';
import { sendJson } from './http-replies.js';
import { parseRequestBody } from './openai-requests.js';
import { readJsonBody } from './read-json-body.js';

/** Anthropic's limit on the requests of one Message Batch. */
export const MAX_MESSAGE_BATCH_REQUESTS = 100_000;
const BATCH_ID_PREFIX = 'msgbatch_';
/** How long Anthropic keeps a batch processing: its expires_at. Infernet's batches run until they end. */
const EXPIRY_MS = 24 * 3600 * 1000;

type Route = (request: IncomingMessage, response: ServerResponse, path: string) => Promise<void>;

const CreateMessageBatch = z
  .object({
    requests: z
      .array(
        z
          .object({
            custom_id: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, { error: 'custom_id is 1 to 64 letters, digits, _ or -' }),
            // Checked as a Messages request by the batch's input check, which names the request's index.
            params: z.record(z.string(), z.unknown()),
          })
          .strict(),
      )
      .min(1)
      .max(MAX_MESSAGE_BATCH_REQUESTS),
  })
  .strict();

/** The routes for a path, or undefined when it is not a Message Batches path. */
export function anthropicBatchRoutes(store: BatchStore): (path: string) => Record<string, Route> | undefined {
  return (path): Record<string, Route> | undefined => {
    if (path === '/v1/messages/batches') return { POST: (request, response) => createMessageBatch(store, request, response), GET: (request, response) => listMessageBatches(store, request, response) };
    const match = /^\/v1\/messages\/batches\/(msgbatch_[A-Za-z0-9]+)(?:\/(cancel|results))?$/.exec(path);
    if (!match) return undefined;
    const batchId = match[1]!;
    if (match[2] === 'cancel') return { POST: (request, response) => cancelMessageBatch(store, batchId, request, response) };
    if (match[2] === 'results') return { GET: (_request, response) => sendResults(store, batchId, response) };
    return {
      GET: async (request, response) => sendJson(response, 200, messageBatchObject(await getMessageBatch(store, batchId), request)),
      DELETE: (_request, response) => deleteMessageBatch(store, batchId, response),
    };
  };
}

async function createMessageBatch(store: BatchStore, request: IncomingMessage, response: ServerResponse): Promise<void> {
  // The requests come inline, not as an uploaded file: the body may be as large as a batch file.
  const { requests } = parseRequestBody(CreateMessageBatch, await readJsonBody(request, MAX_BATCH_FILE_BYTES));
  const model = requests[0]!.params.model;
  if (typeof model !== 'string' || !model) throw badRequest("Invalid 'requests[0].params.model': each request names its model.", 'requests[0].params.model');
  const input = requests.map(({ custom_id, params }) => JSON.stringify({ custom_id, method: 'POST', url: '/v1/messages', body: params })).join('\n');
  try {
    const batch = await submitBatch(store, { input, inputName: 'messages.batches', model, idPrefix: 'msgbatch' });
    sendJson(response, 200, messageBatchObject(batch, request));
  } catch (error) {
    if (!(error instanceof BatchInputError)) throw error;
    // The batch runs one model and checks each line as the Messages route would: name the request, not the line.
    const [first] = error.problems;
    const message = error.problems.map((problem) => `requests[${problem.line - 1}]: ${problem.message.replace(/\bbody\./g, 'params.')}`).join('; ');
    throw badRequest(`The batch was refused, nothing was queued: ${message}`, first ? `requests[${first.line - 1}]` : 'requests');
  }
}

async function listMessageBatches(store: BatchStore, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const batches = (await store.listBatches()).filter((batch) => batch.batchId.startsWith(BATCH_ID_PREFIX));
  // Most recently created first, as Anthropic lists them (the store answers newest first).
  const page = anthropicPage(
    batches.map((batch) => ({ id: batch.batchId, batch })),
    queryOf(request),
    (id) => `no Message Batch ${JSON.stringify(id)} on this node.`,
  );
  sendJson(response, 200, { ...page, data: page.data.map(({ batch }) => messageBatchObject(batch, request)) });
}

async function cancelMessageBatch(store: BatchStore, batchId: string, request: IncomingMessage, response: ServerResponse): Promise<void> {
  try {
    sendJson(response, 200, messageBatchObject(await store.requestCancel(batchId), request));
  } catch (error) {
    if (error instanceof BatchNotFoundError) throw messageBatchNotFound(batchId);
    // Anthropic answers an ended batch as it is.
    if (error instanceof BatchNotCancellableError) return sendJson(response, 200, messageBatchObject(error.batch, request));
    throw error;
  }
}

/** An ended batch and its results are forgotten; one that may still run must be cancelled first, as at Anthropic. */
async function deleteMessageBatch(store: BatchStore, batchId: string, response: ServerResponse): Promise<void> {
  try {
    await store.deleteBatch(batchId);
  } catch (error) {
    if (error instanceof BatchNotFoundError) throw messageBatchNotFound(batchId);
    if (error instanceof BatchNotEndedError) throw badRequest(`Message Batch ${batchId} is ${processingStatusOf(error.batch)}: only an ended batch can be deleted; cancel it first.`);
    throw error;
  }
  sendJson(response, 200, { id: batchId, type: 'message_batch_deleted' });
}

/** One JSON line per request, in request order; served once the batch has ended, as Anthropic serves them. */
async function sendResults(store: BatchStore, batchId: string, response: ServerResponse): Promise<void> {
  const batch = await getMessageBatch(store, batchId);
  if (!isBatchEnded(batch)) throw new ApiError(400, 'batch_not_ended', `Message Batch ${batchId} is still ${processingStatusOf(batch)}: its results are served once it has ended.`);
  const lines = mergeResults(batch.total, await store.resultsOf(batchId)).map(resultLineOf);
  const body = Buffer.from(lines.map((line) => JSON.stringify(line) + '\n').join(''));
  response.writeHead(200, { 'content-type': 'application/x-jsonl', 'content-length': body.length });
  response.end(body);
}

interface StoredLine {
  custom_id: string;
  response: { body: object } | null;
  error: { code: string; message: string } | null;
}

/** A stored output line as Anthropic's result: the message, the error in Anthropic's shape, or canceled. */
function resultLineOf(line: string): object {
  const stored = JSON.parse(line) as StoredLine;
  if (stored.response) return { custom_id: stored.custom_id, result: { type: 'succeeded', message: stored.response.body } };
  if (stored.error?.code === 'batch_cancelled') return { custom_id: stored.custom_id, result: { type: 'canceled' } };
  const type = stored.error?.code === 'invalid_request' ? 'invalid_request_error' : 'api_error';
  return { custom_id: stored.custom_id, result: { type: 'errored', error: { type: 'error', error: { type, message: stored.error?.message ?? 'the request failed' } } } };
}

function processingStatusOf(batch: BatchRecord): 'in_progress' | 'canceling' | 'ended' {
  const status = batchStatusOf(batch);
  return status === 'cancelling' ? 'canceling' : isBatchEnded(batch) ? 'ended' : 'in_progress';
}

const isoOf = (ms: number | undefined) => (ms ? new Date(ms).toISOString() : null);

/** Counts by Anthropic's result types: a cancel's unanswered requests are `canceled`, the other failures `errored`. */
function requestCountsOf(batch: BatchRecord) {
  return { processing: isBatchEnded(batch) ? 0 : batch.total - batch.completed - batch.failed, succeeded: batch.completed, errored: batch.failed - batch.cancelled, canceled: batch.cancelled, expired: 0 };
}

function messageBatchObject(batch: BatchRecord, request: IncomingMessage): object {
  const ended = isBatchEnded(batch);
  // Absolute, as Anthropic gives it, on the address the client reached this node at.
  const resultsUrl = ended ? `http://${request.headers.host ?? 'localhost'}/v1/messages/batches/${batch.batchId}/results` : null;
  return {
    id: batch.batchId,
    type: 'message_batch',
    processing_status: processingStatusOf(batch),
    request_counts: requestCountsOf(batch),
    ended_at: ended ? isoOf(batch.finishedAt ?? batch.updatedAt) : null,
    created_at: isoOf(batch.createdAt),
    expires_at: isoOf(batch.createdAt + EXPIRY_MS),
    archived_at: null,
    cancel_initiated_at: isoOf(batch.cancelRequestedAt),
    results_url: resultsUrl,
  };
}

async function getMessageBatch(store: BatchStore, batchId: string): Promise<BatchRecord> {
  try {
    return await store.getBatch(batchId);
  } catch (error) {
    if (error instanceof BatchNotFoundError) throw messageBatchNotFound(batchId);
    throw error;
  }
}

const messageBatchNotFound = (batchId: string) => new ApiError(404, 'not_found', `No Message Batch ${batchId} on this node.`);
