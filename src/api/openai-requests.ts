// The request bodies of POST /v1/chat/completions and /v1/completions as zod schemas, and their translation into
// an Infernet JobSpec. Fields OpenAI defines that Infernet cannot honour are refused by name rather than ignored,
// so a client never gets an answer to a question it did not ask; fields that change nothing here are dropped.
import { z } from 'zod';
import { ChatMessage, JobSpec, Price, VerificationPolicy, type JobInput } from '../protocol/index.js';
import { badRequest, type ApiError } from './api-error.js';

/** OpenAI's default sampling temperature; Infernet's own default (greedy) applies only where a client sets 0. */
export const DEFAULT_TEMPERATURE = 1;
/** OpenAI's default for legacy completions. */
export const DEFAULT_COMPLETION_MAX_TOKENS = 16;
/** Chat completions have no default limit at OpenAI: the largest budget a job may ask for, cut at the context's end. */
export const DEFAULT_CHAT_MAX_TOKENS = 32_768;
/** The job deadline when the request names none, as for `infernet submit`. */
export const DEFAULT_TIMEOUT_S = 300;

/** Accepted when absent, null, false or empty: what OpenAI clients send for a feature they do not use. */
const unsupported = (feature: string) =>
  z
    .unknown()
    .refine((value) => value === undefined || value === null || value === false || (Array.isArray(value) && value.length === 0), {
      error: `${feature} is not supported by Infernet`,
    })
    .optional();

const InfernetOptions = z
  .object({
    /** Providers above this price are not matched. */
    price_cap: Price.optional(),
    verification: VerificationPolicy.optional(),
    /** Seconds until the job's deadline. */
    timeout_s: z.number().positive().max(3600).optional(),
  })
  .strict();
export type InfernetOptions = z.infer<typeof InfernetOptions>;

const samplingFields = {
  model: z.string().min(1).max(256),
  max_tokens: z.number().int().min(1).max(32_768).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().gt(0).max(1).nullish(),
  seed: z.number().int().min(0).max(2 ** 32 - 1).nullish(),
  stop: z.union([z.string().min(1), z.array(z.string().min(1)).max(4)]).nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().nullish() }).nullish(),
  n: z.literal(1, { error: 'only n=1 is supported by Infernet' }).nullish(),
  infernet: InfernetOptions.optional(),
};

const TextPart = z.object({ type: z.literal('text'), text: z.string() });
const RequestMessage = z.object({
  /** developer is OpenAI's newer name for system. */
  role: z.enum(['system', 'developer', 'user', 'assistant']),
  content: z.union([z.string(), z.array(TextPart).min(1)]),
  name: z.string().optional(),
});

export const ChatCompletionRequest = z.object({
  ...samplingFields,
  messages: z.array(RequestMessage).min(1).max(4096),
  max_completion_tokens: z.number().int().min(1).max(32_768).nullish(),
  logprobs: unsupported('logprobs'),
  top_logprobs: unsupported('top_logprobs'),
  tools: unsupported('tools'),
  functions: unsupported('functions'),
  audio: unsupported('audio'),
});
export type ChatCompletionRequest = z.infer<typeof ChatCompletionRequest>;

export const CompletionRequest = z.object({
  ...samplingFields,
  prompt: z.union([z.string(), z.array(z.string()).length(1, { error: 'one prompt per request: Infernet runs one job per request' })]),
  echo: unsupported('echo'),
  suffix: unsupported('suffix'),
  logprobs: unsupported('logprobs'),
  best_of: z.literal(1, { error: 'only best_of=1 is supported by Infernet' }).nullish(),
});
export type CompletionRequest = z.infer<typeof CompletionRequest>;

/** OpenAI's spelling of a field path: messages[0].content. */
function paramOf(path: readonly PropertyKey[]): string {
  return path.map((part, index) => (typeof part === 'number' ? `[${part}]` : index === 0 ? String(part) : `.${String(part)}`)).join('');
}

/** Parses a request body; the error names the first bad field. */
export function parseRequestBody<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('The request body must be a JSON object.');
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const param = paramOf(issue.path);
  throw badRequest(param ? `Invalid '${param}': ${issue.message}` : issue.message, param || null);
}

export function chatJobSpec(request: ChatCompletionRequest, jobId: string, now = Date.now()): JobSpec {
  const messages = request.messages.map(toJobMessage);
  return jobSpecOf(request, { messages }, request.max_completion_tokens ?? request.max_tokens ?? DEFAULT_CHAT_MAX_TOKENS, jobId, now);
}

export function completionJobSpec(request: CompletionRequest, jobId: string, now = Date.now()): JobSpec {
  const prompt = typeof request.prompt === 'string' ? request.prompt : request.prompt[0]!;
  return jobSpecOf(request, { prompt }, request.max_tokens ?? DEFAULT_COMPLETION_MAX_TOKENS, jobId, now);
}

function toJobMessage(message: z.infer<typeof RequestMessage>): ChatMessage {
  const content = typeof message.content === 'string' ? message.content : message.content.map((part) => part.text).join('\n');
  return { role: message.role === 'developer' ? 'system' : message.role, content };
}

type SamplingFields = z.infer<z.ZodObject<typeof samplingFields>>;

function jobSpecOf(request: SamplingFields, input: JobInput, maxTokens: number, jobId: string, now: number): JobSpec {
  const { infernet } = request;
  const stop = typeof request.stop === 'string' ? [request.stop] : (request.stop ?? undefined);
  const parsed = JobSpec.safeParse({
    jobId,
    model: { name: request.model },
    input,
    sampling: {
      temperature: request.temperature ?? DEFAULT_TEMPERATURE,
      maxTokens,
      ...(request.top_p != null ? { topP: request.top_p } : {}),
      ...(request.seed != null ? { seed: request.seed } : {}),
      ...(stop?.length ? { stop } : {}),
    },
    deadline: now + (infernet?.timeout_s ?? DEFAULT_TIMEOUT_S) * 1000,
    ...(infernet?.price_cap ? { priceCap: infernet.price_cap } : {}),
    ...(infernet?.verification ? { verification: infernet.verification } : {}),
  });
  if (!parsed.success) throw jobSpecProblem(parsed.error);
  return parsed.data;
}

/** The schemas above are at least as strict as JobSpec, so this is a backstop that still names the field. */
function jobSpecProblem(error: z.ZodError): ApiError {
  const issue = error.issues[0];
  return badRequest(`Invalid request: ${issue?.path.join('.')}: ${issue?.message}`);
}
