// Ollama's API on the API's port: /api/tags, /api/show, /api/ps, /api/version, /api/generate, /api/chat, and HEAD / (its CLI's liveness check). Each
// generation is one Infernet job, as on the OpenAI routes, and the same API keys apply (Authorization: Bearer).
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { modelNotFound } from './api-error.js';
import { sendJson } from './http-replies.js';
import { OllamaReply } from './ollama-reply.js';
import { chatJobSpecOf, generateJobSpec, OLLAMA_API_VERSION, parseOllamaChat, parseOllamaGenerate } from './ollama-requests.js';
import { parseRequestBody } from './openai-requests.js';
import { readJsonBody } from './read-json-body.js';
import { serveJobs, type CompletionServices } from './serve-completion.js';
import type { ModelOffer } from '../protocol/index.js';
import { z } from 'zod';

/** Ollama's paths: served by the API on a node whose interface takes every other path outside /v1. */
export const OLLAMA_PATHS = ['/api/version', '/api/tags', '/api/ps', '/api/show', '/api/generate', '/api/chat'] as const;

export function isOllamaRequest(request: IncomingMessage): boolean {
  const path = new URL(request.url ?? '/', 'http://api').pathname.replace(/\/+$/, '');
  return (OLLAMA_PATHS as readonly string[]).includes(path);
}

/**
 * Ollama's liveness check: its own CLI sends `HEAD /` before every command (OLLAMA_HOST pointed here), and tools
 * probe `GET /` for its text. Answered without a key, as Ollama does: it says only that something listens. Where
 * the node serves its interface, `GET /` stays the interface's page.
 */
export function isOllamaHeartbeat(request: IncomingMessage, pageAtRoot: boolean): boolean {
  const path = new URL(request.url ?? '/', 'http://api').pathname;
  return path === '/' && (request.method === 'HEAD' || (request.method === 'GET' && !pageAtRoot));
}

export function serveOllamaHeartbeat(request: IncomingMessage, response: ServerResponse): void {
  // Ollama's exact words: clients compare the text, not only the status.
  const body = 'Ollama is running';
  response.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  response.end(request.method === 'HEAD' ? undefined : body);
}

type Route = (request: IncomingMessage, response: ServerResponse, path: string) => Promise<void>;

/** What Infernet knows of a model it does not host: its name, and the size and sha256 of the file its providers agree on (0 and empty otherwise). */
function modelEntry(offer: ModelOffer, modifiedAt: string) {
  return {
    name: offer.name,
    model: offer.name,
    modified_at: modifiedAt,
    size: offer.sizeBytes ?? 0,
    digest: offer.sha256 ?? '',
    details: { parent_model: '', format: 'gguf', family: '', families: null, parameter_size: '', quantization_level: '' },
  };
}

const ShowRequest = z.object({ model: z.string().min(1).optional(), name: z.string().min(1).optional(), verbose: z.boolean().optional() }).refine((body) => body.model ?? body.name, { error: 'model is required', path: ['model'] });

export function ollamaRoutes(services: CompletionServices, startedAt: Date): Record<string, Record<string, Route>> {
  const modifiedAt = startedAt.toISOString();
  const offers = async (): Promise<ModelOffer[]> => (services.offers ? services.offers() : (await services.models()).map((name) => ({ name })));
  const served = async (name: string) => {
    if (!(await services.models()).includes(name)) throw modelNotFound(name);
  };
  return {
    '/api/version': { GET: async (_request, response) => sendJson(response, 200, { version: OLLAMA_API_VERSION }) },
    '/api/tags': { GET: async (_request, response) => sendJson(response, 200, { models: (await offers()).map((offer) => modelEntry(offer, modifiedAt)) }) },
    // Loaded models, as Ollama lists them: the network's are loaded at their providers for as long as they serve them.
    '/api/ps': { GET: async (_request, response) => sendJson(response, 200, { models: (await offers()).map((offer) => ({ ...modelEntry(offer, modifiedAt), expires_at: '0001-01-01T00:00:00Z', size_vram: 0 })) }) },
    '/api/show': {
      POST: async (request, response) => {
        const body = parseRequestBody(ShowRequest, await readJsonBody(request));
        const name = (body.model ?? body.name)!;
        await served(name);
        const { details } = modelEntry({ name }, modifiedAt);
        sendJson(response, 200, { modelfile: '', parameters: '', template: '', details, model_info: {}, capabilities: ['completion', 'tools'], modified_at: modifiedAt });
      },
    },
    '/api/generate': {
      POST: async (request, response) => {
        const body = parseOllamaGenerate(await readJsonBody(request));
        const spec = generateJobSpec(body, randomUUID());
        const stream = body.stream !== false;
        // An empty prompt loads the model at Ollama; here the network's providers have it loaded already.
        if (!body.prompt) {
          await served(body.model);
          return sendJson(response, 200, { model: body.model, created_at: new Date().toISOString(), response: '', done: true, done_reason: 'load' });
        }
        await serveJobs([spec], new OllamaReply(response, { kind: 'generate', model: body.model, stream, jobId: spec.jobId }), response, services);
      },
    },
    '/api/chat': {
      POST: async (request, response) => {
        const body = parseOllamaChat(await readJsonBody(request));
        if (!body.messages.length) {
          await served(body.model);
          return sendJson(response, 200, { model: body.model, created_at: new Date().toISOString(), message: { role: 'assistant', content: '' }, done: true, done_reason: 'load' });
        }
        const spec = chatJobSpecOf(body, randomUUID());
        await serveJobs([spec], new OllamaReply(response, { kind: 'chat', model: body.model, stream: body.stream !== false, jobId: spec.jobId, tools: Boolean(body.tools?.length) }), response, services);
      },
    },
  };
}
