// The OpenAI-compatible HTTP API of a node with a client side (and Ollama's and Anthropic's APIs on the same port):
// existing OpenAI, Ollama and Anthropic code points its base URL here and its requests become Infernet jobs. Routes,
// key checks and the mapping of failures to each API's statuses and error bodies.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TransportLimits } from '../config/index.js';
import type { NodeKey } from '../identity/index.js';
import type { ModelOffer, VerificationPolicy } from '../protocol/index.js';
import type { JobStore } from '../jobs/index.js';
import type { Logger } from '../log/index.js';
import { isMetricsRequest, serveMetrics, type NodeMetrics } from '../metrics/index.js';
import type { JobPayer } from '../payments/index.js';
import { ModelListUnavailableError, requestNetworkModels } from '../client/network-models.js';
import { ApiError, invalidApiKey, modelNotFound, networkUnavailable } from './api-error.js';
import { ApiKeyVerifier } from './api-keys.js';
import { AggregatorConnection, NoAggregatorError } from './aggregator-connection.js';
import { sendError, sendJson } from './http-replies.js';
import { modelList, modelObject } from './openai-responses.js';
import { ollamaErrorBody } from './ollama-reply.js';
import { anthropicErrorBody } from './anthropic-reply.js';
import { anthropicRoutes, isAnthropicPath } from './anthropic-routes.js';
import { anthropicModelInfo, anthropicModelPage, isAnthropicClient } from './anthropic-models.js';
import { queryOf } from './cursor-page.js';
import { isOllamaHeartbeat, isOllamaRequest, ollamaRoutes, serveOllamaHeartbeat } from './ollama-routes.js';
import { embeddingsRoutes, isOllamaEmbeddingRequest } from './embeddings-routes.js';
import { readJsonBody } from './read-json-body.js';
import { batchApiRoutes, type BatchApi } from './batch-routes.js';
import { anthropicBatchRoutes } from './anthropic-batch-routes.js';
import { serveCompletion, type CompletionServices } from './serve-completion.js';
import { responsesRoutes } from './responses-routes.js';
import { ResponseStore } from './responses-store.js';
import { BackgroundResponses } from './background-responses.js';
import { ConversationStore } from './conversations.js';
import { conversationsRoutes } from './conversations-routes.js';
import { listStoredCompletions, storedCompletionRoutes, StoredCompletions } from './stored-completions.js';
import { InfernetError } from '../errors/index.js';

export interface ApiServerOptions {
  host: string;
  /** 0 picks a free port; the server's url says which. */
  port: number;
  keysFile: string;
  key: NodeKey;
  agent: string;
  limits: TransportLimits;
  logger: Logger;
  /** Aggregators that run the API's jobs, tried in order: a client node's `connect`, an all-in-one node's own URL. */
  aggregators: readonly string[];
  /** With no aggregator configured: those found through discovery, best first (AggregatorConnectionOptions). */
  discoverAggregators?: () => Promise<readonly string[]>;
  /** Pays for the API's jobs when their match asks it; without it such jobs are refused payment_required. */
  payer?: JobPayer;
  /** The models this node's own aggregator sees; without it they are asked of the aggregator (models.request). */
  localModels?: () => ModelOffer[];
  /** Where the client side of each job is recorded. */
  store?: JobStore;
  /** Where kept Responses API responses are written, so a restart keeps them (a node's home/responses); memory only without. */
  responsesDir?: string;
  /** Where the Responses API's conversations are written (a node's home/conversations); memory only without. */
  conversationsDir?: string;
  /** Where chat completions made with `store: true` are written (a node's home/chat-completions); memory only without. */
  chatCompletionsDir?: string;
  /** Served at GET /metrics without an API key (the API listens on 127.0.0.1 unless configured otherwise). */
  metrics?: NodeMetrics;
  /** /v1/files and /v1/batches, on a node that runs batches (an all-in-one node: src/batch). */
  batches?: BatchApi;
  /** The desktop and browser interface (src/app-gateway): its pages and uploads, and its WebSocket upgrades. */
  app?: AppRoutes;
  /** Applied to requests, which carry none of their own (config verification.defaultPolicy). */
  verification?: VerificationPolicy;
}

/** Routes another part of the node serves on this port, before the API's key check (they check their own). */
export interface AppRoutes {
  handles(request: IncomingMessage): boolean;
  serve(request: IncomingMessage, response: ServerResponse): void;
  upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void;
}

export interface ApiServer {
  /** http://host:port, without the /v1 of the routes. */
  readonly url: string;
  close(): Promise<void>;
}

export class ApiServerListenError extends InfernetError {
  override readonly name = 'ApiServerListenError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('internal', message, options);
  }
}

type Route = (request: IncomingMessage, response: ServerResponse, path: string) => Promise<void>;

export async function startApiServer(options: ApiServerOptions): Promise<ApiServer> {
  const connection = new AggregatorConnection({ urls: options.aggregators, ...(options.discoverAggregators ? { discover: options.discoverAggregators } : {}), key: options.key, agent: options.agent, limits: options.limits, logger: options.logger });
  const keys = new ApiKeyVerifier(options.keysFile);
  const session = () => connection.session().catch(rethrowUnreachable);
  const local = options.localModels;
  const offers = local ? async () => local() : async () => requestNetworkModels(await session()).catch(rethrowUnanswered);
  const models = async () => (await offers()).map((model) => model.name);
  const services: CompletionServices = {
    key: options.key,
    session,
    models,
    offers,
    logger: options.logger,
    ...(options.payer ? { payer: options.payer } : {}),
    ...(options.store ? { store: options.store } : {}),
    ...(options.verification ? { verification: options.verification } : {}),
  };
  const batches = options.batches ? batchApiRoutes(options.batches) : undefined;
  const messageBatches = options.batches ? anthropicBatchRoutes(options.batches.store) : undefined;
  const responseStore = new ResponseStore(undefined, undefined, options.responsesDir);
  const conversationStore = new ConversationStore(options.conversationsDir);
  const backgroundResponses = new BackgroundResponses(services, responseStore, options.logger, conversationStore);
  const responses = responsesRoutes(services, responseStore, backgroundResponses, conversationStore);
  const conversations = conversationsRoutes(conversationStore);
  const storedCompletions = new StoredCompletions(options.chatCompletionsDir);
  const completionRoutes = storedCompletionRoutes(storedCompletions);
  const handle = router(services, Math.floor(Date.now() / 1000), storedCompletions, (path) => responses(path) ?? conversations(path) ?? completionRoutes(path) ?? batches?.(path) ?? messageBatches?.(path));
  const metrics = options.metrics;
  const server = createServer((request, response) => {
    if (metrics && isMetricsRequest(request)) return void serveMetrics(request, response, metrics);
    if (isOllamaHeartbeat(request, options.app !== undefined)) return serveOllamaHeartbeat(request, response);
    // The interface claims every path but /v1; Ollama's routes are the API's, whatever it claims.
    if (options.app?.handles(request) && !isOllamaRequest(request) && !isOllamaEmbeddingRequest(request)) return options.app.serve(request, response);
    void serveRequest(request, response, keys, handle, options.logger);
  });
  const app = options.app;
  if (app) server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => app.upgrade(request, socket, head));
  await listen(server, options.host, options.port);
  const { port } = server.address() as AddressInfo;
  const url = `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`;
  // Dialled now so that the first request does not pay for the handshake; a failure here is retried per request.
  void session().catch((error: Error) => options.logger.warn({ err: error.message }, 'the API reaches no aggregator yet'));
  backgroundResponses.resume();
  options.logger.info({ url: `${url}/v1`, aggregators: options.aggregators }, 'OpenAI-compatible API listening');
  return {
    url,
    close: async () => {
      backgroundResponses.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections(); // open streams end, and their jobs are cancelled
      connection.close();
      await closed;
    },
  };
}

function rethrowUnreachable(error: unknown): never {
  if (error instanceof NoAggregatorError) throw networkUnavailable('no_aggregator', `The network cannot be reached: ${error.message}`, { cause: error });
  throw error;
}

function rethrowUnanswered(error: unknown): never {
  if (error instanceof ModelListUnavailableError) throw new ApiError(502, 'models_unavailable', `The aggregator did not list its models: ${error.message}`, null, { cause: error });
  throw error;
}

async function listen(server: Server, host: string, port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) => reject(new ApiServerListenError(`the API cannot listen on ${host}:${port}: ${error.message}`, { cause: error })));
    server.listen(port, host, () => resolve());
  });
}

async function serveRequest(request: IncomingMessage, response: ServerResponse, keys: ApiKeyVerifier, handle: Route, logger: Logger): Promise<void> {
  const started = performance.now();
  const path = new URL(request.url ?? '/', 'http://api').pathname.replace(/\/+$/, '');
  response.once('close', () => logger.debug({ method: request.method, path, status: response.statusCode, ms: Math.round(performance.now() - started) }, 'API request'));
  try {
    await authenticate(request, keys);
    await handle(request, response, path);
  } catch (error) {
    const failure = error instanceof ApiError ? error : new ApiError(500, 'internal', `Internal error: ${(error as Error).message}`);
    if (failure.status >= 500) logger.warn({ path, status: failure.status, code: failure.apiCode, err: failure.message }, 'API request failed');
    sendError(response, failure, failure.status === 413 ? { connection: 'close' } : {}, errorBodyFor(request, path, failure));
  }
}

/** Each API answers errors in its own clients' shape; on the paths two APIs share, the client's headers say whose. */
function errorBodyFor(request: IncomingMessage, path: string, error: ApiError): object {
  if (path.startsWith('/api/')) return ollamaErrorBody(error);
  return isAnthropicPath(path) || isAnthropicClient(request) ? anthropicErrorBody(error) : error.toBody();
}

/** The key as OpenAI's and Ollama's clients send it (Authorization: Bearer), or as Anthropic's do (x-api-key). */
async function authenticate(request: IncomingMessage, keys: ApiKeyVerifier): Promise<void> {
  const header = request.headers.authorization ?? '';
  const xApiKey = request.headers['x-api-key'];
  const token = /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1] ?? (typeof xApiKey === 'string' && xApiKey.trim() ? xApiKey.trim() : undefined);
  if (!token) throw invalidApiKey("You didn't provide an API key: send it as `Authorization: Bearer KEY` or `x-api-key: KEY` (create one with `infernet apikey create --home DIR`).", 'unauthenticated');
  if (await keys.verify(token)) return;
  const hint = (await keys.hasKeys()) ? '' : ' This node has no API keys yet: create one with `infernet apikey create --home DIR`.';
  throw invalidApiKey(`Incorrect API key provided.${hint}`);
}

function router(services: CompletionServices, createdAt: number, stored: StoredCompletions, moreRoutes?: (path: string) => Record<string, Route> | undefined): Route {
  const createdAtIso = new Date(createdAt * 1000).toISOString();
  const listModels: Route = async (request, response) => {
    const models = await services.models();
    sendJson(response, 200, isAnthropicClient(request) ? anthropicModelPage(models, createdAtIso, queryOf(request)) : modelList(models, createdAt));
  };
  const routes: Record<string, Record<string, Route>> = {
    '/v1/models': { GET: listModels },
    '/v1/chat/completions': { POST: async (request, response) => serveCompletion('chat', await readJsonBody(request), response, services, stored), GET: listStoredCompletions(stored) },
    '/v1/completions': { POST: async (request, response) => serveCompletion('text', await readJsonBody(request), response, services) },
    ...ollamaRoutes(services, new Date(createdAt * 1000)),
    ...anthropicRoutes(services),
    ...embeddingsRoutes(services),
  };
  const retrieveModel: Route = async (request, response, path) => {
    const id = decodeURIComponent(path.slice('/v1/models/'.length));
    if (!(await services.models()).includes(id)) throw modelNotFound(id);
    sendJson(response, 200, isAnthropicClient(request) ? anthropicModelInfo(id, createdAtIso) : modelObject(id, createdAt));
  };
  return async (request, response, path) => {
    const methods = routes[path] ?? (path.startsWith('/v1/models/') ? { GET: retrieveModel } : moreRoutes?.(path));
    if (!methods) throw new ApiError(404, 'unknown_url', `Invalid URL (${request.method} ${path}): this node serves /v1/models, /v1/chat/completions, /v1/completions, /v1/responses, /v1/conversations, /v1/embeddings, Anthropic's /v1/messages and Ollama's /api/tags, /api/show, /api/ps, /api/version, /api/generate, /api/chat, /api/embed and /api/embeddings.`);
    const route = methods[request.method ?? ''];
    if (!route) throw new ApiError(405, 'method_not_allowed', `${request.method} is not allowed on ${path} (allowed: ${Object.keys(methods).join(', ')}).`);
    await route(request, response, path);
  };
}
