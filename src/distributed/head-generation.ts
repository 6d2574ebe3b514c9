// A job's generation on a llama-server head, shared by the local and the distributed engine: the prompt as
// token ids, and the stream accumulated into the engine interface's result (with each token's logprob, which
// the interface lacks and tests and verification compare).
import type { GenerationRequest, GenerationResult } from '../inference/index.js';
import type { GenerationInput, TokenFingerprint } from '../protocol/index.js';
import { HeadFailedError, type CompletionEnd, type LlamaServerHead } from './llama-server-head.js';

export interface HeadGenerationResult extends GenerationResult {
  /** ln p of each generated token, in order. */
  logprobs: number[];
}

/** What a generation has produced so far: on failover the next head continues from here. */
export interface GenerationProgress {
  text: string;
  tokenIds: number[];
  logprobs: number[];
  /** Each token's most likely alternatives, [id, logprob], best first. */
  top: [number, number][][];
  firstTokenMs: number;
}

export function emptyProgress(): GenerationProgress {
  return { text: '', tokenIds: [], logprobs: [], top: [], firstTokenMs: 0 };
}

/** How many alternatives a fingerprint keeps at most (the protocol's bound). */
const MAX_FINGERPRINT_TOP = 16;

export async function promptTokensOf(head: LlamaServerHead, input: GenerationInput): Promise<number[]> {
  const text = 'messages' in input ? await head.applyTemplate(input.messages) : input.prompt;
  return head.tokenize(text);
}

/**
 * Runs the rest of a generation on `head`: the prompt followed by what `progress` already holds, for the tokens
 * still owed. New pieces go to `request.onText` as they arrive and into `progress`, so a failure part-way leaves
 * it pointing at the next token.
 */
export async function continueGeneration(head: LlamaServerHead, request: GenerationRequest, prompt: readonly number[], progress: GenerationProgress, started: number): Promise<CompletionEnd | 'cancelled'> {
  const owed = request.sampling.maxTokens - progress.tokenIds.length;
  if (owed <= 0) return { stopType: 'limit' };
  const { format, presencePenalty, frequencyPenalty, logitBias } = request.sampling;
  // llama-server starts a grammar at the first token it generates: after tokens another head generated, the output
  // could stop being the JSON asked for. (Penalties count the prompt's tokens too, so they go on exactly.)
  if (format && progress.tokenIds.length) throw new HeadFailedError('a generation under an output format cannot go on on another head: its grammar would start again mid-output');
  try {
    return await head.complete({
      tokens: [...prompt, ...progress.tokenIds],
      maxTokens: owed,
      temperature: request.sampling.temperature,
      ...(request.sampling.topK !== undefined ? { topK: request.sampling.topK } : {}),
      ...(request.sampling.topP !== undefined ? { topP: request.sampling.topP } : {}),
      ...(request.sampling.seed !== undefined ? { seed: request.sampling.seed } : {}),
      ...(request.sampling.stop?.length ? { stop: request.sampling.stop } : {}),
      ...(presencePenalty ? { presencePenalty } : {}),
      ...(frequencyPenalty ? { frequencyPenalty } : {}),
      ...(logitBias?.length ? { logitBias } : {}),
      ...(format ? { jsonSchema: format.type === 'json_schema' ? format.schema : { type: 'object' } } : {}),
      ...(request.fingerprintTopK ? { topLogprobs: Math.min(request.fingerprintTopK, MAX_FINGERPRINT_TOP) } : {}),
      ...(request.signal ? { signal: request.signal } : {}),
      onChunk: (chunk) => {
        if (!progress.tokenIds.length && chunk.tokenIds.length) progress.firstTokenMs = performance.now() - started;
        progress.text += chunk.text;
        progress.tokenIds.push(...chunk.tokenIds);
        progress.logprobs.push(...chunk.logprobs);
        progress.top.push(...chunk.top);
        request.onText?.({ text: chunk.text, tokenIds: chunk.tokenIds });
      },
    });
  } catch (error) {
    if (request.signal?.aborted) return 'cancelled';
    throw error;
  }
}

export function resultOf(end: CompletionEnd | 'cancelled', progress: GenerationProgress, promptTokens: number, started: number, fingerprintTopK?: number): HeadGenerationResult {
  const finishReason = end === 'cancelled' ? 'cancelled' : end.stopType === 'eos' || end.stopType === 'word' ? 'stop' : 'length';
  const result = { text: progress.text, tokenIds: progress.tokenIds, logprobs: progress.logprobs, finishReason, promptTokens, firstTokenMs: progress.firstTokenMs, totalMs: performance.now() - started } as const;
  return fingerprintTopK ? { ...result, fingerprints: fingerprintsOf(progress, Math.min(fingerprintTopK, MAX_FINGERPRINT_TOP)) } : result;
}

function fingerprintsOf(progress: GenerationProgress, topK: number): TokenFingerprint[] {
  return progress.tokenIds.map((token, i) => ({ token, logprob: progress.logprobs[i] ?? NaN, top: (progress.top[i] ?? []).slice(0, topK) }));
}
