// The one interface every inference engine sits behind: in-process llama.cpp today, a supervised
// llama-server with RPC stages or a container later. Job code never knows which one runs it.
import type { GenerationInput, SamplingParams, TokenFingerprint, TokenLogprob } from '../protocol/index.js';
import { InfernetError } from '../errors/index.js';

export interface GenerationRequest {
  modelPath: string;
  input: GenerationInput;
  sampling: SamplingParams;
  signal?: AbortSignal;
  /** The job this generation belongs to, for engines that label or log per job. */
  jobId?: string;
  /** Milliseconds left before the job's deadline; engines that run out of process enforce it themselves. */
  deadlineMs?: number;
  /** Called for each decoded piece of text, in order; concatenated they equal the final output. */
  onText?: (piece: GeneratedPiece) => void;
  /**
   * Record a fingerprint per generated token (its log-probability and this many most likely alternatives), so the
   * result can be compared with another run's (src/verification). Absent: no fingerprints, at full speed.
   */
  fingerprintTopK?: number;
  /**
   * Failover replay (JobSpec.continuation): tokens another provider already generated for this job. The engine
   * evaluates the input followed by them and generates what comes next; the result holds only the new tokens, and
   * sampling.maxTokens counts only those. Only engines with `continuesGenerations` honour it.
   */
  continueFrom?: readonly number[];
  /** Return each token's text and logprob with this many alternatives (JobSpec.logprobs). */
  logprobsTopK?: number;
}

export interface GeneratedPiece {
  text: string;
  /** Tokens whose text this piece completes (several when a character spans tokens). */
  tokenIds: number[];
}

export interface GenerationResult {
  text: string;
  tokenIds: number[];
  finishReason: 'stop' | 'length' | 'cancelled';
  promptTokens: number;
  firstTokenMs: number;
  totalMs: number;
  /** One per token id, when the request asked for them and the engine can compute them. */
  fingerprints?: TokenFingerprint[];
  /** One per token id, when the request asked for logprobs. */
  tokenLogprobs?: TokenLogprob[];
}

export interface EmbeddingRequest {
  modelPath: string;
  /** Each text gets one vector, in order. */
  texts: readonly string[];
  signal?: AbortSignal;
  jobId?: string;
  /** Milliseconds left before the job's deadline; engines that run out of process enforce it themselves. */
  deadlineMs?: number;
  /**
   * Refuses the job before any text is evaluated when texts x the model's dimensions exceed this many values (the
   * protocol's bound on what one result frame carries).
   */
  maxValues?: number;
}

export interface EmbeddingResult {
  /** One per text: the model's embedding (llama.cpp's, as node-llama-cpp's getEmbeddingFor computes it). */
  vectors: number[][];
  dimensions: number;
  /** Tokens evaluated over all texts (BOS and EOS included, as the engine fed them). */
  promptTokens: number;
  totalMs: number;
}

export interface InferenceEngine {
  /** Engine and version, recorded in signed results so outputs of the same engine can be compared. */
  readonly id: string;
  /** The engine honours GenerationRequest.continueFrom (failover replay); a provider refuses continuations otherwise. */
  readonly continuesGenerations?: boolean;
  generate(request: GenerationRequest): Promise<GenerationResult>;
  /** Embedding vectors for texts; absent on an engine that computes none (its provider offers no embed jobs). */
  embed?(request: EmbeddingRequest): Promise<EmbeddingResult>;
  /** Loads a model ahead of the first job so its first token is not delayed by loading. */
  preload(modelPath: string): Promise<void>;
  close(): Promise<void>;
}

export class ModelLoadError extends InfernetError {
  override readonly name = 'ModelLoadError';
  constructor(
    readonly modelPath: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super('engine_failed', message, options);
  }
}

export class PromptTooLongError extends InfernetError {
  override readonly name = 'PromptTooLongError';
  constructor(
    readonly promptTokens: number,
    readonly contextSize: number,
  ) {
    super('engine_failed', `the prompt is ${promptTokens} tokens but the context holds ${contextSize}`);
  }
}

/** A job's output format (a JSON schema) that the engine cannot compile into a decoding grammar. */
export class InvalidGrammarError extends InfernetError {
  override readonly name = 'InvalidGrammarError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('engine_failed', message, options);
  }
}

/** An embedding job whose vectors (texts x the model's dimensions) would not fit the bound of one result. */
export class EmbeddingTooLargeError extends InfernetError {
  override readonly name = 'EmbeddingTooLargeError';
  constructor(
    readonly texts: number,
    readonly dimensions: number,
    readonly maxValues: number,
  ) {
    super('engine_failed', `${texts} texts of ${dimensions} dimensions make ${texts * dimensions} values, over the ${maxValues} one result carries: send fewer texts per request`);
  }
}
