// The input of a batch: JSON lines in the OpenAI Batch API's format ({custom_id, method, url, body}; the url may
// also be Anthropic's /v1/messages, whose Message Batches come in this form), checked
// line by line so that a bad file is refused whole, with every problem named by its line number, before any
// request runs.
import { z } from 'zod';
import { ApiError } from '../api/api-error.js';
import { ChatCompletionRequest, CompletionRequest, chatJobSpec, completionJobSpec, parseRequestBody } from '../api/openai-requests.js';
import { messagesJobSpec, parseMessagesRequest } from '../api/anthropic-requests.js';
import type { JobSpec } from '../protocol/index.js';
import { InfernetError } from '../errors/index.js';

/** OpenAI's own limit on the lines of one batch input file. */
export const MAX_BATCH_LINES = 50_000;
/** Problems quoted in the error message; the rest are counted. */
const QUOTED_PROBLEMS = 10;

export const BATCH_ENDPOINTS = ['/v1/chat/completions', '/v1/completions', '/v1/messages'] as const;
export type BatchEndpoint = (typeof BATCH_ENDPOINTS)[number];

/** One input line, validated: its body is a complete OpenAI request for `url`, with the batch's model. */
export interface BatchRequest {
  customId: string;
  url: BatchEndpoint;
  body: Record<string, unknown>;
}

export interface BatchLineProblem {
  /** 1-based line number in the file. */
  line: number;
  message: string;
}

export class BatchInputError extends InfernetError {
  override readonly name = 'BatchInputError';
  constructor(
    readonly source: string,
    readonly problems: readonly BatchLineProblem[],
  ) {
    const quoted = problems.slice(0, QUOTED_PROBLEMS).map((problem) => `line ${problem.line}: ${problem.message}`);
    const more = problems.length > QUOTED_PROBLEMS ? `; and ${problems.length - QUOTED_PROBLEMS} more` : '';
    super('internal', `${source}: ${quoted.join('; ')}${more}`);
  }
}

const BatchLine = z
  .object({
    custom_id: z.string().min(1).max(512),
    method: z.literal('POST', { error: 'method must be "POST"' }),
    url: z.enum(BATCH_ENDPOINTS, { error: `url must be one of ${BATCH_ENDPOINTS.join(', ')}` }),
    body: z.record(z.string(), z.unknown()),
  })
  .strict();

/**
 * Parses a whole input file. Blank lines are skipped; every other line must be a request for `model` (a body
 * that names no model gets it). Throws BatchInputError listing every bad line.
 */
export function parseBatchInput(text: string, model: string, source = 'batch input'): BatchRequest[] {
  const requests: BatchRequest[] = [];
  const problems: BatchLineProblem[] = [];
  const seen = new Map<string, number>();
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const raw = lines[index]!.trim();
    if (!raw) continue;
    const line = index + 1;
    try {
      const request = parseBatchLine(raw, model);
      const first = seen.get(request.customId);
      if (first !== undefined) throw new Error(`custom_id "${request.customId}" repeats line ${first}: each request needs its own`);
      seen.set(request.customId, line);
      requests.push(request);
    } catch (error) {
      problems.push({ line, message: (error as Error).message });
    }
  }
  if (!requests.length && !problems.length) problems.push({ line: 1, message: 'the file has no requests' });
  if (requests.length > MAX_BATCH_LINES) problems.push({ line: MAX_BATCH_LINES + 1, message: `a batch holds at most ${MAX_BATCH_LINES} requests` });
  if (problems.length) throw new BatchInputError(source, problems);
  return requests;
}

function parseBatchLine(raw: string, model: string): BatchRequest {
  let data: unknown;
  try {
    data = JSON.parse(raw);
  } catch (error) {
    throw new Error(`not valid JSON (${(error as Error).message})`);
  }
  const parsed = BatchLine.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(issue.path.length ? `${issue.path.join('.')}: ${issue.message}` : issue.message);
  }
  const { custom_id: customId, url } = parsed.data;
  const named = parsed.data.body.model;
  if (named !== undefined && named !== model) throw new Error(`body.model is "${String(named)}" but the batch runs "${model}"`);
  if (parsed.data.body.stream) throw new Error('body.stream: a batch request cannot be streamed');
  // Its answer is kept in the batch's output file; the stored-completion routes keep requests made one at a time.
  if (parsed.data.body.store || parsed.data.body.metadata) throw new Error(`body.${parsed.data.body.store ? 'store' : 'metadata'}: a batch request is kept in its output file, not as a stored completion`);
  const body = { ...parsed.data.body, model };
  // The same checks the HTTP API makes, so a line that passes here is one the API would have run.
  specOfBatchRequest({ customId, url, body }, 'check-00000000', 60_000, Date.now());
  return { customId, url, body };
}

/**
 * The job of one request. `timeoutMs` bounds it unless the line's body sets its own `infernet.timeout_s`.
 * Throws an Error naming the bad field.
 */
export function specOfBatchRequest(request: BatchRequest, jobId: string, timeoutMs: number, now = Date.now()): JobSpec {
  const infernet = (request.body.infernet ?? {}) as Record<string, unknown>;
  const body = { ...request.body, infernet: { timeout_s: timeoutMs / 1000, ...infernet } };
  try {
    if (request.url === '/v1/chat/completions') return chatJobSpec(parseRequestBody(ChatCompletionRequest, body), jobId, now);
    if (request.url === '/v1/messages') return messagesJobSpec(parseMessagesRequest(body), jobId, now);
    return completionJobSpec(parseRequestBody(CompletionRequest, body), jobId, now);
  } catch (error) {
    throw new Error(error instanceof ApiError ? error.message.replace(/^Invalid '/, "Invalid 'body.") : (error as Error).message, { cause: error });
  }
}
