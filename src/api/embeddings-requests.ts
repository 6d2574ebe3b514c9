// The request bodies of OpenAI's POST /v1/embeddings and Ollama's POST /api/embed as zod schemas, their translation
// into one Infernet embed job, and the vectors as each API answers them. Fields Infernet cannot honour are refused
// by name (400), never ignored, as on the completion routes.
import { z } from 'zod';
import { decodeEmbeddingVector, encodeEmbeddingVector, JobSpec, MAX_EMBEDDING_INPUTS, type EmbeddingVectors } from '../protocol/index.js';
import { badRequest } from './api-error.js';
import { DEFAULT_TIMEOUT_S, InfernetOptions } from './openai-requests.js';

const Texts = z.union(
  [
    z.string().min(1, { error: 'an empty string has no embedding' }),
    z
      .array(z.string().min(1, { error: 'an empty string has no embedding' }))
      .min(1)
      .max(MAX_EMBEDDING_INPUTS, { error: `at most ${MAX_EMBEDDING_INPUTS} inputs per request: each vector travels in one job's result` }),
  ],
  { error: 'input is a string or an array of strings; token arrays are not supported by Infernet' },
);

/** Must equal the model's own size: llama.cpp computes the model's vectors and Infernet does not shorten them. */
const Dimensions = z.number().int().min(1).optional();

export const OpenAiEmbeddingRequest = z
  .object({
    model: z.string().min(1).max(256),
    input: Texts,
    encoding_format: z.enum(['float', 'base64']).optional(),
    dimensions: Dimensions,
    /** An end-user id for abuse monitoring at OpenAI: accepted, and nothing here depends on it. */
    user: z.string().max(256).optional(),
    infernet: InfernetOptions.optional(),
  })
  .strict();
export type OpenAiEmbeddingRequest = z.infer<typeof OpenAiEmbeddingRequest>;

export const OllamaEmbedRequest = z
  .object({
    model: z.string().min(1).max(256),
    input: Texts,
    /** Ollama truncates an input longer than the context by default; Infernet refuses it instead (400 after the job). */
    truncate: z.literal(false, { error: 'truncate is not supported by Infernet: an input longer than the context is refused, never cut; send truncate: false' }).optional(),
    dimensions: Dimensions,
    /** Providers keep their models loaded: accepted, and nothing depends on it. */
    keep_alive: z.union([z.string(), z.number()]).nullish(),
    options: z.object({}, { error: 'options are not supported by Infernet for embeddings' }).strict().nullish(),
    infernet: InfernetOptions.optional(),
  })
  .strict();
export type OllamaEmbedRequest = z.infer<typeof OllamaEmbedRequest>;

/** Ollama's older POST /api/embeddings, which clients written before /api/embed still call: one prompt, one vector. */
export const OllamaLegacyEmbeddingsRequest = z
  .object({
    model: z.string().min(1).max(256),
    /** Ollama answers an empty prompt with an empty vector, without running the model; so does Infernet. */
    prompt: z.string({ error: 'prompt is a string' }),
    keep_alive: z.union([z.string(), z.number()]).nullish(),
    options: z.object({}, { error: 'options are not supported by Infernet for embeddings' }).strict().nullish(),
    infernet: InfernetOptions.optional(),
  })
  .strict();
export type OllamaLegacyEmbeddingsRequest = z.infer<typeof OllamaLegacyEmbeddingsRequest>;

/** One embed job for every text of the request, in order. */
export function embeddingJobSpec(request: { model: string; input: string | string[]; infernet?: InfernetOptions | undefined }, jobId: string, now = Date.now()): JobSpec {
  const { infernet } = request;
  const parsed = JobSpec.safeParse({
    jobId,
    model: { name: request.model },
    input: { embed: typeof request.input === 'string' ? [request.input] : request.input },
    // Nothing is sampled; one token is the least a job may be priced for.
    sampling: { temperature: 0, maxTokens: 1 },
    deadline: now + (infernet?.timeout_s ?? DEFAULT_TIMEOUT_S) * 1000,
    ...(infernet?.price_cap ? { priceCap: infernet.price_cap } : {}),
    ...(infernet?.verification ? { verification: infernet.verification } : {}),
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw badRequest(`Invalid input: ${issue?.message ?? 'invalid'}`, 'input');
  }
  return parsed.data;
}

/** The model's dimensions against what the request asked for: a different size is refused, never cut. */
export function checkDimensions(asked: number | undefined, embeddings: EmbeddingVectors, model: string): void {
  if (asked !== undefined && asked !== embeddings.dimensions) {
    throw badRequest(`Invalid 'dimensions': ${model} computes ${embeddings.dimensions}-dimensional embeddings and Infernet does not shorten them; leave dimensions out or send ${embeddings.dimensions}.`, 'dimensions');
  }
}

/**
 * The vectors scaled to unit length (L2), as llama.cpp's server, Ollama and OpenAI answer them, so cosine similarity
 * is a dot product. The job's signed result keeps the engine's raw vectors; this is the same pure function of them
 * on every node, so equal results give equal answers.
 */
export function normalizedVectors(embeddings: EmbeddingVectors): number[][] {
  return embeddings.vectors.map((vector) => {
    const values = decodeEmbeddingVector(vector);
    const norm = Math.sqrt(values.reduce((sum, value) => sum + value * value, 0));
    return norm > 0 ? values.map((value) => Math.fround(value / norm)) : values;
  });
}

/** OpenAI's list of embedding objects: floats, or float32 little-endian in base64. */
export function openAiEmbeddingList(request: OpenAiEmbeddingRequest, embeddings: EmbeddingVectors, promptTokens: number) {
  const vectors = normalizedVectors(embeddings);
  return {
    object: 'list' as const,
    data: vectors.map((vector, index) => ({ object: 'embedding' as const, index, embedding: request.encoding_format === 'base64' ? encodeEmbeddingVector(vector) : vector })),
    model: request.model,
    usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
  };
}
