// The response objects of the OpenAI API, built from a finished Infernet job or a streamed piece of one: plain data,
// so the shapes can be checked in tests without a server.
import type { JobOutcome } from '../node/job-client.js';

export type CompletionKind = 'chat' | 'text';
export type FinishReason = 'stop' | 'length';

/** What every object of one response shares: its id, creation time, model name and engine. */
export interface ResponseContext {
  kind: CompletionKind;
  jobId: string;
  model: string;
  /** Unix seconds. */
  created: number;
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export const usageOf = (outcome: Pick<JobOutcome, 'promptTokens' | 'tokens'>): Usage => ({
  prompt_tokens: outcome.promptTokens,
  completion_tokens: outcome.tokens,
  total_tokens: outcome.promptTokens + outcome.tokens,
});

/** A job ends by a stop condition or by its token budget; 'cancelled' never reaches a successful response. */
export const finishReasonOf = (outcome: Pick<JobOutcome, 'finishReason'>): FinishReason => (outcome.finishReason === 'length' ? 'length' : 'stop');

const idOf = (context: ResponseContext) => `${context.kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${context.jobId}`;

function envelope(context: ResponseContext, object: string, fingerprint: string | null) {
  return { id: idOf(context), object, created: context.created, model: context.model, system_fingerprint: fingerprint };
}

/** The whole answer of a request without `stream`. */
export function completionResponse(context: ResponseContext, outcome: JobOutcome): object {
  const finish_reason = finishReasonOf(outcome);
  const choice =
    context.kind === 'chat'
      ? { index: 0, message: { role: 'assistant', content: outcome.output, refusal: null }, logprobs: null, finish_reason }
      : { index: 0, text: outcome.output, logprobs: null, finish_reason };
  return { ...envelope(context, context.kind === 'chat' ? 'chat.completion' : 'text_completion', outcome.engine), choices: [choice], usage: usageOf(outcome) };
}

/** One streamed chunk: a piece of text, or (with `finish`) the end of the choice. */
export function completionChunk(context: ResponseContext, piece: { text?: string; role?: 'assistant'; finish?: FinishReason }): object {
  const finish_reason = piece.finish ?? null;
  const choice =
    context.kind === 'chat'
      ? { index: 0, delta: { ...(piece.role ? { role: piece.role } : {}), ...(piece.text !== undefined ? { content: piece.text } : {}) }, logprobs: null, finish_reason }
      : { index: 0, text: piece.text ?? '', logprobs: null, finish_reason };
  return { ...envelope(context, context.kind === 'chat' ? 'chat.completion.chunk' : 'text_completion', null), choices: [choice] };
}

/** The chunk OpenAI sends last when `stream_options.include_usage` is set: no choices, the usage. */
export function usageChunk(context: ResponseContext, outcome: JobOutcome): object {
  return { ...envelope(context, context.kind === 'chat' ? 'chat.completion.chunk' : 'text_completion', outcome.engine), choices: [], usage: usageOf(outcome) };
}

export function modelList(models: readonly string[], created: number): object {
  return { object: 'list', data: models.map((id) => modelObject(id, created)) };
}

export function modelObject(id: string, created: number): object {
  return { id, object: 'model', created, owned_by: 'infernet' };
}
