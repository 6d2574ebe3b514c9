// /v1/files and /v1/batches: OpenAI's Batch API over the node's batch runner (src/batch). A JSONL file is
// uploaded, a batch is created from it, polled, and its output (and error) file downloaded, in OpenAI's shapes,
// so the official SDKs' batch calls work unchanged.
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { z } from 'zod';
import { BatchInputError, BatchNotCancellableError, BatchNotFoundError, batchStatusOf, hasEveryLine, isErrorLine, mergeResults, submitBatch, type BatchRecord, type BatchStore } from '../batch/index.js';
import { ApiError, badRequest } from './api-error.js';
import { sendJson } from './http-replies.js';
import { cursorPage, OPENAI_PAGE_LIMITS, queryOf } from './cursor-page.js';
import { ByteLimit } from './byte-limit.js';
import { bodyTooLarge, readJsonBody } from './read-json-body.js';

/** OpenAI's page of files: all of them unless asked for fewer. */
const MAX_FILES_PAGE = 10_000;

/** OpenAI's limit on a batch input file. */
export const MAX_BATCH_FILE_BYTES = 200 * 1024 * 1024;
const FILE_ID = /^file-[A-Za-z0-9_-]{1,80}$/;

export interface BatchApi {
  store: BatchStore;
  /** Where uploaded files are kept (the node home's files/). */
  filesDir: string;
  /** The largest upload taken; MAX_BATCH_FILE_BYTES unless set. */
  maxFileBytes?: number;
}

type Route = (request: IncomingMessage, response: ServerResponse, path: string) => Promise<void>;

interface StoredFile {
  id: string;
  object: 'file';
  bytes: number;
  created_at: number;
  filename: string;
  purpose: string;
}

const CreateBatch = z.object({
  input_file_id: z.string().regex(FILE_ID, 'must be a file id from POST /v1/files'),
  endpoint: z.enum(['/v1/chat/completions', '/v1/completions']),
  completion_window: z.literal('24h', { error: "completion_window must be '24h'" }),
  metadata: z.record(z.string(), z.string()).nullish(),
});

/** The routes for a path, or undefined when the path is not a batch or file route. */
export function batchApiRoutes(api: BatchApi): (path: string) => Record<string, Route> | undefined {
  return (path): Record<string, Route> | undefined => {
    if (path === '/v1/files') return { POST: (request, response) => uploadFile(api, request, response), GET: (request, response) => listFiles(api, request, response) };
    if (path === '/v1/batches') return { POST: (request, response) => createBatch(api, request, response), GET: (request, response) => listBatches(api, request, response) };
    const file = /^\/v1\/files\/([^/]+)(\/content)?$/.exec(path);
    if (file?.[2]) return { GET: (_request, response) => sendFileContent(api, decodeURIComponent(file[1]!), response) };
    if (file) return { GET: (_request, response) => sendFileObject(api, decodeURIComponent(file[1]!), response), DELETE: (_request, response) => deleteFile(api, decodeURIComponent(file[1]!), response) };
    const batch = /^\/v1\/batches\/([^/]+)$/.exec(path);
    if (batch) return { GET: (_request, response) => sendBatch(api, decodeURIComponent(batch[1]!), response) };
    const cancel = /^\/v1\/batches\/([^/]+)\/cancel$/.exec(path);
    if (cancel) return { POST: (_request, response) => cancelBatch(api, decodeURIComponent(cancel[1]!), response) };
    return undefined;
  };
}

async function uploadFile(api: BatchApi, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const limit = api.maxFileBytes ?? MAX_BATCH_FILE_BYTES;
  if (Number(request.headers['content-length'] ?? 0) > limit) throw bodyTooLarge(limit);
  if (!/^multipart\/form-data/i.test(request.headers['content-type'] ?? '')) throw badRequest('Upload the file as multipart/form-data with the fields `file` and `purpose`.');
  // A chunked body declares no length: it is counted as it comes, and refused at the limit instead of buffered whole.
  const body = new ByteLimit(limit, bodyTooLarge);
  request.pipe(body);
  const form = await new Request('http://upload', { method: 'POST', headers: request.headers as Record<string, string>, body: Readable.toWeb(body) as ReadableStream, duplex: 'half' } as RequestInit).formData().catch((error: Error) => {
    if (body.exceeded) {
      // Nothing more is read: the 413 goes out with connection: close, which drops the rest.
      request.unpipe(body);
      throw bodyTooLarge(limit);
    }
    throw badRequest(`The upload is not valid multipart/form-data: ${error.message}`);
  });
  const purpose = form.get('purpose');
  const file = form.get('file');
  if (purpose !== 'batch') throw badRequest("Only purpose 'batch' is supported by Infernet.", 'purpose');
  if (!(file instanceof Blob)) throw badRequest('The form has no `file`.', 'file');
  const bytes = Buffer.from(await file.arrayBuffer());
  const stored: StoredFile = { id: `file-${randomBytes(12).toString('hex')}`, object: 'file', bytes: bytes.length, created_at: Math.floor(Date.now() / 1000), filename: (file as File).name ?? 'input.jsonl', purpose };
  await mkdir(api.filesDir, { recursive: true });
  await writeFile(join(api.filesDir, `${stored.id}.jsonl`), bytes);
  await writeFile(join(api.filesDir, `${stored.id}.json`), JSON.stringify(stored));
  sendJson(response, 200, stored);
}

async function createBatch(api: BatchApi, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const parsed = CreateBatch.safeParse(await readJsonBody(request));
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw badRequest(`Invalid '${issue.path.join('.')}': ${issue.message}`, issue.path.join('.') || null);
  }
  const { input_file_id: fileId, endpoint } = parsed.data;
  const input = await readFile(join(api.filesDir, `${fileId}.jsonl`), 'utf8').catch(() => {
    throw new ApiError(404, 'file_not_found', `No file ${fileId} on this node: upload it with POST /v1/files first.`, 'input_file_id');
  });
  const model = firstModelOf(input);
  const mismatched = input.split('\n').findIndex((line) => line.trim() && !line.includes(`"${endpoint}"`));
  if (mismatched >= 0) throw badRequest(`Line ${mismatched + 1} of ${fileId} is not for ${endpoint}: every line's url must be the batch's endpoint.`, 'endpoint');
  try {
    const batch = await submitBatch(api.store, { input, inputName: fileId, model });
    sendJson(response, 200, batchObject(batch, endpoint));
  } catch (error) {
    if (error instanceof BatchInputError) throw badRequest(`The input file was refused: ${error.message}`, 'input_file_id', 'invalid_batch_input');
    throw error;
  }
}

/** Newest first, `limit` (1-100, default 20) at a time from `after`, as OpenAI pages its batches. */
async function listBatches(api: BatchApi, request: IncomingMessage, response: ServerResponse): Promise<void> {
  // The store answers newest first; a page is cut from the oldest-first list.
  const batches = (await api.store.listBatches()).filter(isOpenAiBatch).reverse();
  const query = queryOf(request);
  const page = cursorPage(batches.map((batch) => ({ id: batch.batchId, batch })), query, { ...OPENAI_PAGE_LIMITS, unknownCursor: (id) => `no batch '${id}' on this node` });
  sendJson(response, 200, { ...page, data: page.data.map(({ batch }) => batchObject(batch)) });
}

async function sendBatch(api: BatchApi, batchId: string, response: ServerResponse): Promise<void> {
  sendJson(response, 200, batchObject(await getBatch(api, batchId)));
}

/** The batch as it is once the cancel is recorded: `cancelling` until its runner ends it `cancelled`. */
async function cancelBatch(api: BatchApi, batchId: string, response: ServerResponse): Promise<void> {
  try {
    sendJson(response, 200, batchObject(await api.store.requestCancel(batchId)));
  } catch (error) {
    if (error instanceof BatchNotFoundError) throw batchNotFound(batchId);
    if (error instanceof BatchNotCancellableError) throw new ApiError(400, 'batch_not_cancellable', `Batch ${batchId} is ${batchStatusOf(error.batch)}: only a batch that is validating or in progress can be cancelled.`);
    throw error;
  }
}

async function sendFileObject(api: BatchApi, fileId: string, response: ServerResponse): Promise<void> {
  const output = outputOf(fileId);
  if (output) return sendJson(response, 200, outputFileObject(await getBatch(api, output.batchId), output.kind));
  const text = await readFile(join(api.filesDir, `${checkedFileId(fileId)}.json`), 'utf8').catch(() => {
    throw fileNotFound(fileId);
  });
  sendJson(response, 200, JSON.parse(text) as StoredFile);
}

/** The uploads and the output and error files of ended batches, newest first unless `order=asc`, filtered by `purpose`. */
async function listFiles(api: BatchApi, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const query = queryOf(request);
  const purpose = query.get('purpose');
  const files = [...(await uploadedFiles(api)), ...(await outputFiles(api))].filter((file) => purpose === null || file.purpose === purpose);
  files.sort((a, b) => a.created_at - b.created_at || a.id.localeCompare(b.id));
  sendJson(response, 200, cursorPage(files, query, { defaultLimit: MAX_FILES_PAGE, maxLimit: MAX_FILES_PAGE, unknownCursor: (id) => `no file '${id}' is listed on this node` }));
}

/** An upload is forgotten (a batch made from it keeps its requests in the store); a batch's output goes with the batch. */
async function deleteFile(api: BatchApi, fileId: string, response: ServerResponse): Promise<void> {
  if (outputOf(fileId)) throw badRequest(`${fileId} is a batch's output, read from its results when asked for: it is not stored apart, and stays with the batch.`);
  const object = join(api.filesDir, `${checkedFileId(fileId)}.json`);
  await readFile(object).catch(() => {
    throw fileNotFound(fileId);
  });
  // The description last: a delete cut short leaves the file listed, and deleting it again finishes the job.
  await rm(join(api.filesDir, `${fileId}.jsonl`), { force: true });
  await rm(object, { force: true });
  sendJson(response, 200, { id: fileId, object: 'file', deleted: true });
}

async function uploadedFiles(api: BatchApi): Promise<StoredFile[]> {
  const names = await readdir(api.filesDir).catch(() => [] as string[]);
  const files = await Promise.all(names.filter((name) => name.endsWith('.json')).map((name) => readFile(join(api.filesDir, name), 'utf8').then((text) => JSON.parse(text) as StoredFile, () => undefined)));
  return files.filter((file): file is StoredFile => file !== undefined);
}

async function outputFiles(api: BatchApi): Promise<StoredFile[]> {
  const ended = (await api.store.listBatches({ states: ['completed', 'cancelled'] })).filter(isOpenAiBatch);
  return ended.flatMap((batch) => [...(batch.completed > 0 ? [outputFileObject(batch, 'output' as const)] : []), ...(batch.failed > 0 ? [outputFileObject(batch, 'error' as const)] : [])]);
}

function outputFileObject(batch: BatchRecord, kind: 'output' | 'error'): StoredFile {
  return { id: `file-${kind}-${batch.batchId}`, object: 'file', bytes: 0, created_at: Math.floor((batch.finishedAt ?? batch.createdAt) / 1000), filename: `${batch.batchId}_${kind}.jsonl`, purpose: `batch_${kind}` };
}

async function sendFileContent(api: BatchApi, fileId: string, response: ServerResponse): Promise<void> {
  const output = outputOf(fileId);
  let body: Buffer;
  if (output) {
    const batch = await getBatch(api, output.batchId);
    if (!hasEveryLine(batch)) throw new ApiError(400, 'batch_not_completed', `Batch ${batch.batchId} is ${batchStatusOf(batch)}: its output is written when it completes or is cancelled.`);
    const lines = mergeResults(batch.total, await api.store.resultsOf(batch.batchId)).filter((line) => isErrorLine(line) === (output.kind === 'error'));
    body = Buffer.from(lines.map((line) => line + '\n').join(''));
  } else {
    body = await readFile(join(api.filesDir, `${checkedFileId(fileId)}.jsonl`)).catch(() => {
      throw fileNotFound(fileId);
    });
  }
  response.writeHead(200, { 'content-type': 'application/jsonl', 'content-length': body.length });
  response.end(body);
}

/** Output and error files are not stored: they are merged from the batch's results when asked for. */
function outputOf(fileId: string): { batchId: string; kind: 'output' | 'error' } | undefined {
  const match = /^file-(output|error)-(batch_[A-Za-z0-9]+)$/.exec(fileId);
  return match ? { kind: match[1] as 'output' | 'error', batchId: match[2]! } : undefined;
}

/** Batches made through this API; Anthropic's Message Batches (msgbatch_...) are listed by theirs. */
const isOpenAiBatch = (batch: BatchRecord) => batch.batchId.startsWith('batch_');

const OPENAI_STATUS: Record<ReturnType<typeof batchStatusOf>, string> = { queued: 'validating', running: 'in_progress', completed: 'completed', failed: 'failed', cancelling: 'cancelling', cancelled: 'cancelled' };

const unixSeconds = (ms: number | undefined) => (ms ? Math.floor(ms / 1000) : null);

function batchObject(batch: BatchRecord, endpoint?: string): object {
  const done = hasEveryLine(batch);
  return {
    id: batch.batchId,
    object: 'batch',
    endpoint: endpoint ?? null,
    errors: batch.error ? { object: 'list', data: [{ code: batch.error.code, message: batch.error.message, param: null, line: null }] } : null,
    input_file_id: batch.inputName,
    completion_window: '24h',
    status: OPENAI_STATUS[batchStatusOf(batch)],
    output_file_id: done && batch.completed > 0 ? `file-output-${batch.batchId}` : null,
    error_file_id: done && batch.failed > 0 ? `file-error-${batch.batchId}` : null,
    created_at: Math.floor(batch.createdAt / 1000),
    in_progress_at: batch.state !== 'queued' ? Math.floor(batch.createdAt / 1000) : null,
    completed_at: batch.state === 'completed' ? unixSeconds(batch.finishedAt) : null,
    cancelling_at: unixSeconds(batch.cancelRequestedAt),
    cancelled_at: batch.state === 'cancelled' ? unixSeconds(batch.finishedAt) : null,
    failed_at: batch.state === 'failed' ? unixSeconds(batch.finishedAt) : null,
    request_counts: { total: batch.total, completed: batch.completed, failed: batch.failed },
    metadata: null,
  };
}

async function getBatch(api: BatchApi, batchId: string): Promise<BatchRecord> {
  try {
    return await api.store.getBatch(batchId);
  } catch (error) {
    if (error instanceof BatchNotFoundError) throw batchNotFound(batchId);
    throw error;
  }
}

function firstModelOf(input: string): string {
  for (const line of input.split('\n')) {
    if (!line.trim()) continue;
    try {
      const model = (JSON.parse(line) as { body?: { model?: unknown } }).body?.model;
      if (typeof model === 'string' && model) return model;
    } catch {
      break; // the full parse names the line
    }
    break;
  }
  throw badRequest("The input file's first request names no body.model: each line needs one.", 'input_file_id', 'invalid_batch_input');
}

function checkedFileId(fileId: string): string {
  if (!FILE_ID.test(fileId)) throw fileNotFound(fileId);
  return fileId;
}

const batchNotFound = (batchId: string) => new ApiError(404, 'batch_not_found', `No batch ${batchId} on this node.`);

const fileNotFound = (fileId: string) => new ApiError(404, 'file_not_found', `No file ${fileId} on this node.`);
