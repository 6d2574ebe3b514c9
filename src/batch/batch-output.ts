// The output of a batch: one JSON line per input line in the OpenAI Batch API's output format, with the
// request's `custom_id` and either its `response` (status and completion body) or its `error`; and the merge of
// results that arrive in any order, from any provider, into input order.
import { completionResponse } from '../api/openai-responses.js';
import { replyModeOf, type ChatCompletionRequest } from '../api/openai-requests.js';
import { anthropicMessage } from '../api/anthropic-reply.js';
import { replyModeOfMessages, type MessagesRequest } from '../api/anthropic-requests.js';
import type { JobOutcome } from '../client/job-client.js';
import type { BatchRequest } from './batch-input.js';
import { InfernetError } from '../errors/index.js';

/** One finished request: its input line index and its output line. */
export interface BatchResult {
  index: number;
  line: string;
}

export interface BatchRequestFailure {
  code: string;
  message: string;
}

/** Results written in one store record at most. */
export const RESULT_CHUNK = 500;

/** The error code of an output line, null for an answer; a line that cannot be read counts as an error. */
export function errorCodeOfLine(line: string): string | null {
  try {
    const { error } = JSON.parse(line) as { error?: { code?: unknown } | null };
    if (error === null) return null;
    return typeof error?.code === 'string' ? error.code : 'unreadable';
  } catch {
    return 'unreadable';
  }
}

/** An output line that carries an error (or cannot be read): it goes to the error file and counts as failed. */
export const isErrorLine = (line: string): boolean => errorCodeOfLine(line) !== null;

export function successLine(request: BatchRequest, outcome: JobOutcome, created = Math.floor(Date.now() / 1000)): string {
  const body = request.url === '/v1/messages' ? messageBody(request, outcome) : completionBody(request, outcome, created);
  return JSON.stringify({ id: `batch_req_${outcome.jobId}`, custom_id: request.customId, response: { status_code: 200, request_id: outcome.jobId, body }, error: null });
}

/** Anthropic's message, as POST /v1/messages answers it (the body was checked against that schema at submission). */
function messageBody(request: BatchRequest, outcome: JobOutcome): object {
  const body = request.body as Pick<MessagesRequest, 'tools' | 'tool_choice' | 'stop_sequences'>;
  return anthropicMessage({ model: String(request.body.model), jobId: outcome.jobId, stopSequences: body.stop_sequences ?? [], mode: replyModeOfMessages(body) }, outcome);
}

function completionBody(request: BatchRequest, outcome: JobOutcome, created: number): object {
  const kind = request.url === '/v1/chat/completions' ? 'chat' : 'text';
  // Read as the chat route reads a reply: with tools, the output is a call (tool_calls) or the text it wraps. The
  // body was checked against the chat schema when the batch was submitted.
  const mode = kind === 'chat' ? { mode: replyModeOf(request.body as Pick<ChatCompletionRequest, 'tools' | 'tool_choice'>) } : {};
  return completionResponse({ kind, jobId: outcome.jobId, model: String(request.body.model), created, ...mode }, outcome);
}

export function errorLine(request: BatchRequest, jobId: string, failure: BatchRequestFailure): string {
  return JSON.stringify({ id: `batch_req_${jobId}`, custom_id: request.customId, response: null, error: { code: failure.code, message: failure.message } });
}

export class BatchMergeError extends InfernetError {
  override readonly name = 'BatchMergeError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('internal', message, options);
  }
}

/**
 * Orders results by input line. Every index below `total` must appear; a second result for an index is
 * dropped (the first one recorded wins, as the store keeps it); an index out of range is an error.
 */
export function mergeResults(total: number, results: Iterable<BatchResult>): string[] {
  const lines: (string | undefined)[] = new Array<string | undefined>(total);
  for (const result of results) {
    if (!Number.isInteger(result.index) || result.index < 0 || result.index >= total) throw new BatchMergeError(`a result names line index ${result.index}, outside 0..${total - 1}`);
    lines[result.index] ??= result.line;
  }
  const missing: number[] = [];
  for (let index = 0; index < total; index++) if (lines[index] === undefined) missing.push(index);
  if (missing.length) throw new BatchMergeError(`no result for ${missing.length} input line(s): index ${missing.slice(0, 10).join(', ')}${missing.length > 10 ? ', ...' : ''}`);
  return lines as string[];
}

/** The merged output as a JSONL file's text. */
export function mergedJsonl(total: number, results: Iterable<BatchResult>): string {
  const lines = mergeResults(total, results);
  return lines.length ? lines.join('\n') + '\n' : '';
}
