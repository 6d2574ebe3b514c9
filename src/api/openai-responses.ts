// The response objects of the OpenAI API, built from a finished Infernet job or a streamed piece of one: plain data,
// so the shapes can be checked in tests without a server.
import type { JobOutcome } from '../client/job-client.js';
import type { TokenLogprob } from '../protocol/index.js';
import { ReplyTextReader, type ReplyMode } from './reply-text-reader.js';

export type CompletionKind = 'chat' | 'text';
export type FinishReason = 'stop' | 'length' | 'tool_calls';

/** What every object of one response shares: its id, creation time, model name and engine. */
export interface ResponseContext {
  kind: CompletionKind;
  jobId: string;
  model: string;
  /** Unix seconds. */
  created: number;
  /** How each choice's output is read: a forced call's JSON, a call or an answer in text (tool_choice auto), or text. */
  mode?: ReplyMode;
}

/** A choice's call id: one call per choice, named after the request's job. */
export const toolCallIdOf = (context: Pick<ResponseContext, 'jobId'>, index: number) => `call_${context.jobId.replaceAll('-', '')}_${index}`;

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

/** A request with n choices ran n jobs on the same prompt: the prompt counts once, as at OpenAI. */
export const usageOf = (outcomes: ReadonlyArray<Pick<JobOutcome, 'promptTokens' | 'tokens'>>): Usage => {
  const prompt_tokens = outcomes[0]?.promptTokens ?? 0;
  const completion_tokens = outcomes.reduce((sum, outcome) => sum + outcome.tokens, 0);
  return { prompt_tokens, completion_tokens, total_tokens: prompt_tokens + completion_tokens };
};

/** A job ends by a stop condition or by its token budget; 'cancelled' never reaches a successful response. */
export const finishReasonOf = (outcome: Pick<JobOutcome, 'finishReason'>): FinishReason => (outcome.finishReason === 'length' ? 'length' : 'stop');

const idOf = (context: ResponseContext) => `${context.kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${context.jobId}`;

function envelope(context: ResponseContext, object: string, fingerprint: string | null) {
  return { id: idOf(context), object, created: context.created, model: context.model, system_fingerprint: fingerprint };
}

/** The whole answer of a request without `stream`: one choice per job. */
export function completionResponse(context: ResponseContext, choiceOutcomes: JobOutcome | readonly JobOutcome[]): object {
  const outcomes: readonly JobOutcome[] = Array.isArray(choiceOutcomes) ? choiceOutcomes : [choiceOutcomes as JobOutcome];
  const choices = outcomes.map((outcome, index) => {
    const logprobs = outcome.logprobs ? logprobsOf(context.kind, outcome.logprobs) : null;
    // A call cut short by max_tokens is no call: its text is the content, and finish_reason says why.
    const { call, text } = new ReplyTextReader(context.kind === 'chat' ? (context.mode ?? 'text') : 'text').end(outcome.output);
    if (call) {
      const tool_calls = [{ id: toolCallIdOf(context, index), type: 'function', function: { name: call.name, arguments: call.arguments } }];
      return { index, message: { role: 'assistant', content: null, tool_calls, refusal: null }, logprobs, finish_reason: 'tool_calls' };
    }
    const finish_reason = finishReasonOf(outcome);
    return context.kind === 'chat'
      ? { index, message: { role: 'assistant', content: text, refusal: null }, logprobs, finish_reason }
      : { index, text, logprobs, finish_reason };
  });
  return { ...envelope(context, context.kind === 'chat' ? 'chat.completion' : 'text_completion', outcomes[0]?.engine ?? null), choices, usage: usageOf(outcomes) };
}

export interface ChunkPiece {
  /** The choice this piece belongs to (n > 1). */
  index: number;
  text?: string;
  role?: 'assistant';
  finish?: FinishReason;
  /** The choice's logprobs: the provider sends them with its signed result, so they come with the finish chunk. */
  logprobs?: TokenLogprob[];
  /** A piece of the choice's tool call: its name first (with the id), then pieces of its arguments. */
  toolCall?: { id: string; name: string } | { arguments: string };
}

function toolCallDelta(piece: NonNullable<ChunkPiece['toolCall']>) {
  return 'name' in piece ? { index: 0, id: piece.id, type: 'function', function: { name: piece.name, arguments: '' } } : { index: 0, function: { arguments: piece.arguments } };
}

/** One streamed chunk: a piece of text, or (with `finish`) the end of the choice. */
export function completionChunk(context: ResponseContext, piece: ChunkPiece): object {
  const finish_reason = piece.finish ?? null;
  const logprobs = piece.logprobs ? logprobsOf(context.kind, piece.logprobs) : null;
  const choice =
    context.kind === 'chat'
      ? {
          index: piece.index,
          delta: { ...(piece.role ? { role: piece.role } : {}), ...(piece.text !== undefined ? { content: piece.text } : {}), ...(piece.toolCall ? { tool_calls: [toolCallDelta(piece.toolCall)] } : {}) },
          logprobs,
          finish_reason,
        }
      : { index: piece.index, text: piece.text ?? '', logprobs, finish_reason };
  return { ...envelope(context, context.kind === 'chat' ? 'chat.completion.chunk' : 'text_completion', null), choices: [choice] };
}

/** The chunk OpenAI sends last when `stream_options.include_usage` is set: no choices, the usage. */
export function usageChunk(context: ResponseContext, outcomes: readonly JobOutcome[]): object {
  return { ...envelope(context, context.kind === 'chat' ? 'chat.completion.chunk' : 'text_completion', outcomes[0]?.engine ?? null), choices: [], usage: usageOf(outcomes) };
}

const bytesOf = (text: string) => [...Buffer.from(text, 'utf8')];

/** Chat's `logprobs.content`, or legacy completions' parallel lists with a map of alternatives per token. */
export function logprobsOf(kind: CompletionKind, logprobs: readonly TokenLogprob[]): object {
  if (kind === 'chat') {
    const content = logprobs.map((entry) => ({
      token: entry.token,
      logprob: entry.logprob,
      bytes: bytesOf(entry.token),
      top_logprobs: entry.top.map((alternative) => ({ token: alternative.token, logprob: alternative.logprob, bytes: bytesOf(alternative.token) })),
    }));
    return { content, refusal: null };
  }
  let offset = 0;
  const text_offset = logprobs.map((entry) => {
    const at = offset;
    offset += entry.token.length;
    return at;
  });
  return {
    tokens: logprobs.map((entry) => entry.token),
    token_logprobs: logprobs.map((entry) => entry.logprob),
    top_logprobs: logprobs.map((entry) => Object.fromEntries(entry.top.map((alternative) => [alternative.token, alternative.logprob]))),
    text_offset,
  };
}

export function modelList(models: readonly string[], created: number): object {
  return { object: 'list', data: models.map((id) => modelObject(id, created)) };
}

export function modelObject(id: string, created: number): object {
  return { id, object: 'model', created, owned_by: 'infernet' };
}
