// What the host and a warm engine process say to each other, one JSON object per line in each direction: a `load`
// first, then any number of `generate` and `cancel` lines, each job named by the host's id, so that many jobs share
// one loaded model. The worker imports only the types (zod stays out of the image); the host parses every line the
// worker writes with these schemas, because whatever runs inside the sandbox is not trusted.
import { z } from 'zod';
import { GenerationInput, MAX_EMBEDDING_INPUTS, MAX_EMBEDDING_VALUES, SamplingParams } from '../protocol/index.js';

/** 3: embed requests and embedded results. */
export const ENGINE_WORKER_PROTOCOL_VERSION = 3;

/** Which llama.cpp backend the engine loads: false for the CPU. */
export const EngineGpu = z.union([z.literal(false), z.enum(['cuda', 'vulkan', 'metal'])]);
export type EngineGpu = z.infer<typeof EngineGpu>;
/** On a GPU, a model's layers offloaded to it: all, or this many (provider.gpuLayers). */
export const GpuLayers = z.union([z.literal('all'), z.number().int().nonnegative()]);
export type GpuLayers = z.infer<typeof GpuLayers>;

// Host to worker.
export const EngineLoadRequest = z.object({
  type: z.literal('load'),
  v: z.literal(ENGINE_WORKER_PROTOCOL_VERSION),
  /** The model's path as the worker sees it (inside the container). */
  modelPath: z.string().min(1),
  threads: z.number().int().positive(),
  contextSize: z.number().int().positive(),
  /** Sequences decoded together through the one loaded model. */
  slots: z.number().int().positive(),
  gpu: EngineGpu,
  /** On a GPU, the model's layers offloaded to it (provider.gpuLayers); all when absent. */
  gpuLayers: GpuLayers.optional(),
});
export const EngineGenerateRequest = z.object({
  type: z.literal('generate'),
  id: z.string().min(1).max(128),
  input: GenerationInput,
  sampling: SamplingParams,
  fingerprintTopK: z.number().int().min(0).max(20).optional(),
  logprobsTopK: z.number().int().min(0).max(20).optional(),
  /** Failover replay: tokens another provider generated for this job, evaluated before generating on. */
  continueFrom: z.array(z.number().int().nonnegative()).max(32768).optional(),
});
/** An embed job: one vector per text, refused before evaluating when texts x dimensions exceed maxValues. */
export const EngineEmbedRequest = z.object({
  type: z.literal('embed'),
  id: z.string().min(1).max(128),
  texts: z.array(z.string().min(1)).min(1).max(MAX_EMBEDDING_INPUTS),
  maxValues: z.number().int().positive().optional(),
});
export const EngineCancelRequest = z.object({ type: z.literal('cancel'), id: z.string().min(1).max(128) });
export type EngineLoadRequest = z.infer<typeof EngineLoadRequest>;
export type EngineGenerateRequest = z.infer<typeof EngineGenerateRequest>;
export type EngineEmbedRequest = z.infer<typeof EngineEmbedRequest>;
export type EngineCancelRequest = z.infer<typeof EngineCancelRequest>;
export type EngineRequest = EngineLoadRequest | EngineGenerateRequest | EngineEmbedRequest | EngineCancelRequest;

// Worker to host.

/** JSON has no -Infinity (a token the grammar forbids): it arrives as null and is read back as -Infinity. */
const Logprob = z.union([z.number(), z.null().transform(() => -Infinity)]);
const EngineTokenFingerprint = z.object({ token: z.number().int().nonnegative(), logprob: Logprob, top: z.array(z.tuple([z.number().int().nonnegative(), Logprob])).max(20) });
const EngineTokenLogprob = z.object({ token: z.string(), logprob: Logprob, top: z.array(z.object({ token: z.string(), logprob: Logprob })).max(20) });

export const EngineLoadedMessage = z.object({
  type: z.literal('loaded'),
  loadMs: z.number().nonnegative(),
  /** The backend llama.cpp actually loaded, and how many layers it put on the GPU. */
  backend: z.string().max(32),
  gpuLayers: z.number().int().nonnegative(),
});
export const EngineTextMessage = z.object({ type: z.literal('text'), id: z.string(), text: z.string(), tokenIds: z.array(z.number().int().nonnegative()) });
export const EngineResultMessage = z.object({
  type: z.literal('result'),
  id: z.string(),
  text: z.string(),
  tokenIds: z.array(z.number().int().nonnegative()),
  finishReason: z.enum(['stop', 'length', 'cancelled']),
  promptTokens: z.number().int().nonnegative(),
  firstTokenMs: z.number().nonnegative(),
  totalMs: z.number().nonnegative(),
  fingerprints: z.array(EngineTokenFingerprint).optional(),
  tokenLogprobs: z.array(EngineTokenLogprob).optional(),
  /** Prompt tokens the engine has taken from kept KV caches (prefix reuse) since it loaded, this job's included. */
  reusedPromptTokens: z.number().int().nonnegative().optional(),
});
/** An embed job's vectors, float32 little-endian in base64 (src/protocol embedding-vectors.ts): exact, and compact. */
export const EngineEmbeddedMessage = z.object({
  type: z.literal('embedded'),
  id: z.string(),
  dimensions: z.number().int().positive().max(MAX_EMBEDDING_VALUES),
  vectors: z.array(z.string().max(Math.ceil((MAX_EMBEDDING_VALUES * 4) / 3) + 4)).min(1).max(MAX_EMBEDDING_INPUTS),
  promptTokens: z.number().int().nonnegative(),
  totalMs: z.number().nonnegative(),
});
export const EngineErrorMessage = z.object({
  type: z.literal('error'),
  /** The job it ends; absent when the engine itself failed (its model did not load). */
  id: z.string().optional(),
  /** The error's class name inside the worker: ModelLoadError, PromptTooLongError and InvalidGrammarError are rebuilt on the host. */
  name: z.string().max(128),
  message: z.string().max(16_384),
  promptTokens: z.number().int().nonnegative().optional(),
  contextSize: z.number().int().nonnegative().optional(),
});
export const EngineMessage = z.discriminatedUnion('type', [EngineLoadedMessage, EngineTextMessage, EngineResultMessage, EngineEmbeddedMessage, EngineErrorMessage]);
export type EngineMessage = z.infer<typeof EngineMessage>;
export type EngineLoadedMessage = z.infer<typeof EngineLoadedMessage>;
export type EngineResultMessage = z.infer<typeof EngineResultMessage>;
export type EngineEmbeddedMessage = z.infer<typeof EngineEmbeddedMessage>;
export type EngineErrorMessage = z.infer<typeof EngineErrorMessage>;

/** Longest line the host accepts from an engine; a longer one ends the engine instead of filling memory. */
export const MAX_ENGINE_LINE_BYTES = 8 * 2 ** 20;
