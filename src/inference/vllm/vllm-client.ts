// The part of vLLM's OpenAI-compatible server (vllm/entrypoints/openai, v0.11) this engine speaks: /tokenize and
// /detokenize, and /v1/completions streamed as server-sent events with per-token logprobs. The request body is built
// by a pure function, so the exact mapping from a job's sampling is table-tested.
//
// What this relies on, from vLLM's protocol.py and serving_completion.py:
// - CompletionRequest.prompt takes a list of token ids, fed as they are (no BOS added, no template applied).
// - `logprobs: k` returns, per token, `token_logprobs` (the chosen token's, floored at -9999.0) and `top_logprobs`, a
//   dict of the chosen token first and then the k most likely (so k or k + 1 entries); `logprobs: 0` still returns
//   the chosen token. With `return_tokens_as_token_ids: true` ("If specified with 'logprobs', tokens are represented
//   as strings of the form 'token_id:{token_id}'") the `tokens` and the dict's keys name token ids, never text, so
//   two tokens with the same text stay apart.
// - Each stream chunk's `text` is the new text only; vLLM holds back the last (longest stop - 1) characters while a
//   stop string might be starting and cuts the output before the stop string. `finish_reason` is null until the last
//   chunk, then 'stop' or 'length' ('abort' when the server gave up the request); `stop_reason` is the stop string
//   or stop token id, null for the model's end-of-sequence token, which is still among the output tokens.
// - An error after the stream started arrives as a `data: {"error": {...}}` event; before, as an HTTP error status.
// - TokenizeCompletionRequest {prompt, add_special_tokens (default true)} tokenizes as /v1/completions would a text
//   prompt; TokenizeChatRequest {messages, add_generation_prompt (default true)} renders the model's chat template as
//   /v1/chat/completions would; both answer {tokens, count, max_model_len}. DetokenizeRequest {tokens} -> {prompt}.
import type { GenerationInput, SamplingParams } from '../../protocol/index.js';
import { VllmRequestError } from './vllm-errors.js';
import { serverSentEvents } from '../server-sent-events.js';

/** vLLM's default --max-logprobs: a request asking for more is refused with a 400. */
export const VLLM_MAX_LOGPROBS = 20;

export interface VllmCompletionParameters {
  servedName: string;
  /** The prompt's token ids, followed on a continuation by those generated before. */
  prompt: readonly number[];
  sampling: SamplingParams;
  /** Tokens to generate: the job's maxTokens, bounded by what the context has left. */
  maxTokens: number;
  /** Alternatives per token (0: the chosen token's logprob only, which still names its id). */
  logprobs: number;
}

/** The /v1/completions body for a job: streamed, token ids in and out, sampling as the protocol defines it. */
export function completionBodyOf(params: VllmCompletionParameters): Record<string, unknown> {
  const { temperature, topK, topP, seed, stop, presencePenalty, frequencyPenalty, logitBias, format } = params.sampling;
  return {
    model: params.servedName,
    prompt: [...params.prompt],
    max_tokens: params.maxTokens,
    stream: true,
    logprobs: Math.min(params.logprobs, VLLM_MAX_LOGPROBS),
    return_tokens_as_token_ids: true,
    temperature,
    // vLLM's top_k of 0 or -1 means no limit, as the protocol's 0 does; absent, vLLM's default (none) holds.
    ...(topK ? { top_k: topK } : {}),
    ...(topP !== undefined ? { top_p: topP } : {}),
    ...(seed !== undefined ? { seed } : {}),
    ...(stop?.length ? { stop: [...stop] } : {}),
    ...(presencePenalty ? { presence_penalty: presencePenalty } : {}),
    ...(frequencyPenalty ? { frequency_penalty: frequencyPenalty } : {}),
    // OpenAI's logit_bias: token id (as a string key) -> bias added to its logit.
    ...(logitBias?.length ? { logit_bias: Object.fromEntries(logitBias.map(([token, bias]) => [String(token), bias])) } : {}),
    // vLLM turns OpenAI's response_format into its structured-output (guided decoding) request.
    ...(format ? { response_format: format.type === 'json' ? { type: 'json_object' } : { type: 'json_schema', json_schema: { name: 'output', schema: format.schema } } } : {}),
  };
}

export interface TokenizedPrompt {
  tokens: number[];
  /** The context length the server was started with: prompt and generated tokens together. */
  maxModelLength: number;
}

/** The input's token ids as vLLM feeds them: a text with BOS, a chat through the model's own template. */
export async function tokenizeInput(baseUrl: string, servedName: string, input: GenerationInput, signal?: AbortSignal): Promise<TokenizedPrompt> {
  const body = 'messages' in input ? { model: servedName, messages: input.messages, add_generation_prompt: true } : { model: servedName, prompt: input.prompt, add_special_tokens: true };
  const answer = (await postJson(baseUrl, '/tokenize', body, signal)) as { tokens?: unknown; max_model_len?: unknown };
  if (!isTokenList(answer.tokens) || typeof answer.max_model_len !== 'number') throw new VllmRequestError(undefined, 'vLLM /tokenize answered without tokens and max_model_len');
  return { tokens: answer.tokens, maxModelLength: answer.max_model_len };
}

export async function detokenize(baseUrl: string, servedName: string, tokens: readonly number[], signal?: AbortSignal): Promise<string> {
  const answer = (await postJson(baseUrl, '/detokenize', { model: servedName, tokens: [...tokens] }, signal)) as { prompt?: unknown };
  if (typeof answer.prompt !== 'string') throw new VllmRequestError(undefined, 'vLLM /detokenize answered without a prompt');
  return answer.prompt;
}

/** One streamed chunk, read: its new text and, per token, the id, its logprob and the alternatives best first. */
export interface VllmChunk {
  text: string;
  tokenIds: number[];
  logprobs: number[];
  /** [token id, logprob] of each token's alternatives as vLLM sent them (the chosen one included), best first. */
  top: [number, number][][];
  finishReason: string | null;
  stopReason: string | number | null;
}

/** Streams a completion's chunks; a non-2xx answer or an error event throws VllmRequestError. */
export async function* streamCompletion(baseUrl: string, body: Record<string, unknown>, signal: AbortSignal): AsyncGenerator<VllmChunk> {
  const response = await fetch(`${baseUrl}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal });
  if (!response.ok || !response.body) throw new VllmRequestError(response.status, `vLLM /v1/completions answered ${response.status}: ${errorMessageOf(await response.text().catch(() => ''))}`);
  for await (const data of serverSentEvents(response.body)) yield chunkOf(data);
}

/** Reads one event's data; exported for its table test. */
export function chunkOf(data: string): VllmChunk {
  let event: StreamEvent;
  try {
    event = JSON.parse(data) as StreamEvent;
  } catch (cause) {
    throw new VllmRequestError(undefined, `vLLM sent a stream event that is not JSON: ${data.slice(0, 200)}`, { cause });
  }
  if (event.error) throw new VllmRequestError(event.error.code, `vLLM failed the request mid-stream: ${event.error.message ?? JSON.stringify(event.error)}`);
  const choice = event.choices?.[0];
  if (!choice) return { text: '', tokenIds: [], logprobs: [], top: [], finishReason: null, stopReason: null };
  const logprobs = choice.logprobs;
  const tokenIds = (logprobs?.tokens ?? []).map(tokenIdOf);
  return {
    text: choice.text ?? '',
    tokenIds,
    logprobs: tokenIds.map((_, i) => logprobs?.token_logprobs?.[i] ?? -9999),
    top: tokenIds.map((_, i) => rankedAlternatives(logprobs?.top_logprobs?.[i] ?? {})),
    finishReason: choice.finish_reason ?? null,
    stopReason: choice.stop_reason ?? null,
  };
}

/** "token_id:123" -> 123. */
export function tokenIdOf(token: string): number {
  const match = /^token_id:(\d+)$/.exec(token);
  if (!match) throw new VllmRequestError(undefined, `vLLM named a token ${JSON.stringify(token.slice(0, 40))}, not token_id:N (return_tokens_as_token_ids was ignored)`);
  return Number(match[1]);
}

function rankedAlternatives(top: Record<string, number>): [number, number][] {
  return Object.entries(top)
    .map(([token, logprob]): [number, number] => [tokenIdOf(token), logprob])
    .sort((a, b) => b[1] - a[1] || a[0] - b[0]);
}

interface StreamEvent {
  choices?: {
    text?: string;
    finish_reason?: string | null;
    stop_reason?: string | number | null;
    logprobs?: { tokens?: string[]; token_logprobs?: (number | null)[]; top_logprobs?: (Record<string, number> | null)[] } | null;
  }[];
  error?: { message?: string; code?: number };
}

async function postJson(baseUrl: string, path: string, body: unknown, signal?: AbortSignal): Promise<unknown> {
  const response = await fetch(`${baseUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), ...(signal ? { signal } : {}) });
  const text = await response.text();
  if (!response.ok) throw new VllmRequestError(response.status, `vLLM ${path} answered ${response.status}: ${errorMessageOf(text)}`);
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new VllmRequestError(response.status, `vLLM ${path} answered with something other than JSON: ${text.slice(0, 200)}`, { cause });
  }
}

/** vLLM's error bodies: {"error": {"message"}} (recent) or {"message"} (older); else the text, bounded. */
function errorMessageOf(text: string): string {
  try {
    const body = JSON.parse(text) as { error?: { message?: string }; message?: string };
    return (body.error?.message ?? body.message ?? text).slice(0, 500);
  } catch {
    return text.slice(0, 500);
  }
}

function isTokenList(value: unknown): value is number[] {
  return Array.isArray(value) && value.every((token) => Number.isInteger(token) && token >= 0);
}
