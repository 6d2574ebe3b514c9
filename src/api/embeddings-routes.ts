// OpenAI's POST /v1/embeddings and Ollama's POST /api/embed and /api/embeddings: each request is one Infernet embed job (signed,
// encrypted, its vectors checked against their signed hash, under the node's verification policy), answered as one
// JSON object with the job id and provider in headers, as the completion routes do.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { npubOf } from '../identity/index.js';
import type { JobOutcome } from '../client/job-client.js';
import { ApiError } from './api-error.js';
import { decodeEmbeddingVector } from '../protocol/index.js';
import { checkDimensions, embeddingJobSpec, normalizedVectors, OllamaEmbedRequest, OllamaLegacyEmbeddingsRequest, openAiEmbeddingList, OpenAiEmbeddingRequest } from './embeddings-requests.js';
import { sendError, sendJson, type ResponseHeaders } from './http-replies.js';
import { ollamaErrorBody } from './ollama-reply.js';
import { parseRequestBody } from './openai-requests.js';
import { readJsonBody } from './read-json-body.js';
import { serveJobs, type CompletionServices, type JobReply } from './serve-completion.js';

/** Ollama's embedding paths, served by the API on a node whose interface takes every other path outside /v1. */
export const OLLAMA_EMBEDDING_PATHS = ['/api/embed', '/api/embeddings'] as const;

export function isOllamaEmbeddingRequest(request: IncomingMessage): boolean {
  const path = new URL(request.url ?? '/', 'http://api').pathname.replace(/\/+$/, '');
  return (OLLAMA_EMBEDDING_PATHS as readonly string[]).includes(path);
}

const NS_PER_MS = 1e6;

type Route = (request: IncomingMessage, response: ServerResponse, path: string) => Promise<void>;

export function embeddingsRoutes(services: CompletionServices): Record<string, Record<string, Route>> {
  return {
    '/v1/embeddings': {
      POST: async (request, response) => {
        const body = parseRequestBody(OpenAiEmbeddingRequest, await readJsonBody(request));
        const spec = embeddingJobSpec(body, randomUUID());
        const reply = new EmbeddingReply(response, spec.jobId, 'openai', (outcome) => {
          const embeddings = outcome.embeddings!;
          checkDimensions(body.dimensions, embeddings, body.model);
          return openAiEmbeddingList(body, embeddings, outcome.promptTokens);
        });
        await serveJobs([spec], reply, response, services);
      },
    },
    '/api/embed': {
      POST: async (request, response) => {
        const body = parseRequestBody(OllamaEmbedRequest, await readJsonBody(request));
        const spec = embeddingJobSpec(body, randomUUID());
        const reply = new EmbeddingReply(response, spec.jobId, 'ollama', (outcome) => {
          const embeddings = outcome.embeddings!;
          checkDimensions(body.dimensions, embeddings, body.model);
          return { model: body.model, embeddings: normalizedVectors(embeddings), total_duration: Math.round(outcome.totalMs * NS_PER_MS), load_duration: 0, prompt_eval_count: outcome.promptTokens };
        });
        await serveJobs([spec], reply, response, services);
      },
    },
    // The vector as the engine computed it, not scaled to unit length: Ollama's older endpoint answers it so, and its
    // callers (written against it) normalise themselves or compare raw vectors.
    '/api/embeddings': {
      POST: async (request, response) => {
        const body = parseRequestBody(OllamaLegacyEmbeddingsRequest, await readJsonBody(request));
        if (body.prompt === '') return sendJson(response, 200, { embedding: [] });
        const spec = embeddingJobSpec({ model: body.model, input: body.prompt, infernet: body.infernet }, randomUUID());
        const reply = new EmbeddingReply(response, spec.jobId, 'ollama', (outcome) => ({ embedding: decodeEmbeddingVector(outcome.embeddings!.vectors[0]!) }));
        await serveJobs([spec], reply, response, services);
      },
    },
  };
}

/** The answer to an embedding request: nothing streams, one body once the job's vectors are in, or the error. */
class EmbeddingReply implements JobReply {
  private readonly headers: ResponseHeaders;

  constructor(
    private readonly response: ServerResponse,
    jobId: string,
    private readonly api: 'openai' | 'ollama',
    private readonly bodyOf: (outcome: JobOutcome) => object,
  ) {
    this.headers = { 'x-infernet-job-id': jobId, 'x-request-id': jobId };
  }

  matched(_index: number, providerPublicKey: string): void {
    this.headers['x-infernet-provider'] = npubOf(providerPublicKey);
  }

  accepted(): void {}

  text(): void {}

  choiceDone(): void {}

  finish(outcomes: JobOutcome[]): void {
    let body: object;
    try {
      body = this.bodyOf(outcomes[0]!);
    } catch (error) {
      return this.fail(error instanceof ApiError ? error : new ApiError(502, 'bad_result', `The provider's result is not an embedding: ${(error as Error).message}`));
    }
    sendJson(this.response, 200, body, this.headers);
  }

  fail(error: ApiError): void {
    sendError(this.response, error, this.headers, this.api === 'ollama' ? ollamaErrorBody(error) : error.toBody());
  }
}
