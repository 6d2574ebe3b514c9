// What the host and the container worker say to each other: one request on the worker's stdin, then JSON lines
// on its stdout. The worker imports only the types (so zod stays out of the image); the host parses every line
// with these schemas, because whatever runs inside the container is not trusted.
import { z } from 'zod';
import { GenerationInput, SamplingParams, TokenLogprob } from '../protocol/index.js';

export const WORKER_PROTOCOL_VERSION = 1;

export const WorkerRequest = z.object({
  v: z.literal(WORKER_PROTOCOL_VERSION),
  /** The model's path inside the container. */
  modelPath: z.string().min(1),
  input: GenerationInput,
  sampling: SamplingParams,
  threads: z.number().int().positive(),
  contextSize: z.number().int().positive(),
  /** JobSpec.logprobs: alternatives per token, when the job asked for logprobs. */
  logprobsTopK: z.number().int().min(0).max(20).optional(),
});
export type WorkerRequest = z.infer<typeof WorkerRequest>;

export const WorkerTextMessage = z.object({ type: z.literal('text'), text: z.string(), tokenIds: z.array(z.number().int().nonnegative()) });
export const WorkerResultMessage = z.object({
  type: z.literal('result'),
  text: z.string(),
  tokenIds: z.array(z.number().int().nonnegative()),
  finishReason: z.enum(['stop', 'length', 'cancelled']),
  promptTokens: z.number().int().nonnegative(),
  firstTokenMs: z.number().nonnegative(),
  totalMs: z.number().nonnegative(),
  tokenLogprobs: z.array(TokenLogprob).optional(),
});
export const WorkerErrorMessage = z.object({
  type: z.literal('error'),
  /** The error's class name inside the worker: ModelLoadError and PromptTooLongError are rebuilt on the host. */
  name: z.string().max(128),
  message: z.string().max(16_384),
  promptTokens: z.number().int().nonnegative().optional(),
  contextSize: z.number().int().nonnegative().optional(),
});
export const WorkerMessage = z.discriminatedUnion('type', [WorkerTextMessage, WorkerResultMessage, WorkerErrorMessage]);
export type WorkerMessage = z.infer<typeof WorkerMessage>;
export type WorkerTextMessage = z.infer<typeof WorkerTextMessage>;
export type WorkerResultMessage = z.infer<typeof WorkerResultMessage>;
export type WorkerErrorMessage = z.infer<typeof WorkerErrorMessage>;

/** Longest stdout line the host accepts from a worker; a longer one fails the job instead of filling memory. */
export const MAX_WORKER_LINE_BYTES = 4 * 2 ** 20;
