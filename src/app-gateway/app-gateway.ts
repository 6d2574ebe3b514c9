// The daemon's side of the desktop and browser interface, on the HTTP API's port: the built interface as static
// files, the WebSocket it talks to the daemon over (authenticated with an API key, like /v1), and content uploads.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { ApiKeyVerifier } from '../api/api-keys.js';
import type { NodeKey } from '../identity/index.js';
import type { JobStore } from '../jobs/index.js';
import type { Logger } from '../log/index.js';
import type { JobPayer } from '../payments/index.js';
import { connectPocketBase, loadOrCreateSuperuser, type PocketBaseConnection } from '../storage/index.js';
import type { TransportLimits } from '../config/index.js';
import { AppPocketBaseAccess } from './app-pocketbase-access.js';
import { AppJobRunner } from './app-job-runner.js';
import { APP_CONTENT_PATH, APP_SOCKET_PATH, AppRequest, MAX_APP_MESSAGE_BYTES, type AppEvent, type AppNodeInfo, type PocketBaseAccess } from './app-messages.js';
import { ContentUploadError, listContent, receiveContentUpload } from './content-upload.js';
import { summariseEarnings } from './earnings.js';
import { defaultInterfaceDir, serveInterfaceFile } from './interface-files.js';
import { NodeUsageSampler } from './node-usage.js';
import { planForApp } from './plan-for-app.js';

/** A socket that has not said hello with a valid key by then is closed. */
const HELLO_TIMEOUT_MS = 10_000;
const USAGE_INTERVAL_MS = 2_000;
/** WebSocket close codes the interface reads: a refused key must not be retried with the same key. */
export const APP_CLOSE_UNAUTHORIZED = 4401;
export const APP_CLOSE_BAD_REQUEST = 4400;

export interface AppGatewayOptions {
  homeDir: string;
  keysFile: string;
  key: NodeKey;
  node: AppNodeInfo;
  logger: Logger;
  /** The node's PocketBase, or null for a node on the file store (the interface then shows no live data). */
  pocketBaseUrl: string | null;
  /** Aggregators the interface's jobs go through, as for the HTTP API. */
  aggregators: readonly string[];
  discoverAggregators?: () => Promise<readonly string[]>;
  agent: string;
  limits: TransportLimits;
  store?: JobStore;
  /** Pays the interface's jobs whose match asks payment, as for the HTTP API. */
  payer?: JobPayer;
  /** GGUF paths this node serves, for plans. */
  modelPaths: readonly string[];
  /** The models this node's own aggregator sees; without it they are asked of the aggregator. */
  localModels?: () => string[];
  interfaceDir?: string;
  /** The largest content upload taken (half the free disk space bounds it as well); MAX_CONTENT_UPLOAD_BYTES by default. */
  maxUploadBytes?: number;
}

export class AppGateway {
  private readonly sockets = new WebSocketServer({ noServer: true, maxPayload: MAX_APP_MESSAGE_BYTES });
  private readonly keys: ApiKeyVerifier;
  private readonly runner: AppJobRunner;
  private readonly sampler = new NodeUsageSampler();
  private readonly interfaceDir: string;
  private readonly authenticated = new Set<WebSocket>();
  private usageTimer?: NodeJS.Timeout;

  private constructor(
    private readonly options: AppGatewayOptions,
    private readonly pocketBase: { connection: PocketBaseConnection; access: AppPocketBaseAccess } | null,
  ) {
    this.keys = new ApiKeyVerifier(options.keysFile);
    this.interfaceDir = options.interfaceDir ?? defaultInterfaceDir();
    this.runner = new AppJobRunner({ urls: options.aggregators, ...(options.discoverAggregators ? { discover: options.discoverAggregators } : {}), key: options.key, agent: options.agent, limits: options.limits, logger: options.logger, ...(options.store ? { store: options.store } : {}), ...(options.payer ? { payer: options.payer } : {}) });
  }

  static async open(options: AppGatewayOptions): Promise<AppGateway> {
    let pocketBase: { connection: PocketBaseConnection; access: AppPocketBaseAccess } | null = null;
    if (options.pocketBaseUrl) {
      const { credentials } = await loadOrCreateSuperuser(options.homeDir);
      const connection = await connectPocketBase({ url: options.pocketBaseUrl, superuser: credentials });
      pocketBase = { connection, access: new AppPocketBaseAccess(options.pocketBaseUrl, connection.client) };
    }
    return new AppGateway(options, pocketBase);
  }

  /** Every path but the HTTP API's and /metrics belongs to the interface. */
  handles(request: IncomingMessage): boolean {
    const path = new URL(request.url ?? '/', 'http://app').pathname;
    return !(path === '/v1' || path.startsWith('/v1/') || path === '/metrics');
  }

  serve(request: IncomingMessage, response: ServerResponse): void {
    const path = new URL(request.url ?? '/', 'http://app').pathname;
    const served = path === APP_CONTENT_PATH ? this.serveUpload(request, response) : serveInterfaceFile(this.interfaceDir, request, response);
    served.catch((error: Error) => {
      this.options.logger.warn({ path, err: error.message }, 'interface request failed');
      if (!response.headersSent) replyJson(response, 500, { error: { code: 'internal', message: error.message } });
      else response.destroy();
    });
  }

  upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = new URL(request.url ?? '/', 'http://app').pathname;
    if (path !== APP_SOCKET_PATH || !isSameOrigin(request)) {
      socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\n\r\n');
      return;
    }
    this.sockets.handleUpgrade(request, socket, head, (ws) => this.accept(ws));
  }

  async close(): Promise<void> {
    this.stopUsage();
    for (const ws of this.sockets.clients) ws.terminate();
    this.runner.close();
    await new Promise<void>((resolve) => this.sockets.close(() => resolve()));
    await this.pocketBase?.connection.close();
  }

  private accept(ws: WebSocket): void {
    const helloTimer = setTimeout(() => ws.close(APP_CLOSE_UNAUTHORIZED, 'no hello'), HELLO_TIMEOUT_MS);
    ws.on('close', () => {
      clearTimeout(helloTimer);
      this.authenticated.delete(ws);
      if (!this.authenticated.size) this.stopUsage();
    });
    ws.on('message', (data: RawData) => {
      void this.receive(ws, data, helloTimer).catch((error: Error) => send(ws, { type: 'error', code: error.name, message: error.message }));
    });
  }

  private async receive(ws: WebSocket, data: RawData, helloTimer: NodeJS.Timeout): Promise<void> {
    let parsed: ReturnType<typeof AppRequest.safeParse>;
    try {
      parsed = AppRequest.safeParse(JSON.parse(data.toString()));
    } catch {
      return ws.close(APP_CLOSE_BAD_REQUEST, 'not JSON');
    }
    if (!parsed.success) return send(ws, { type: 'error', code: 'bad_request', message: parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ') });
    const request = parsed.data;
    if (!this.authenticated.has(ws)) {
      if (request.type !== 'hello' || !(await this.keys.verify(request.key))) return ws.close(APP_CLOSE_UNAUTHORIZED, 'a valid API key is needed: create one with infernet apikey create');
      clearTimeout(helloTimer);
      this.authenticated.add(ws);
      return this.welcome(ws);
    }
    switch (request.type) {
      case 'hello':
        return;
      case 'pocketbase.refresh':
        return send(ws, { type: 'pocketbase.token', pocketbase: await this.pocketBaseToken() });
      case 'job.submit':
        void this.pocketBase?.access.log('info', `job submitted from the interface for ${request.model}`, { data: { maxTokens: request.maxTokens, verification: request.verification.kind } }).catch(() => undefined);
        return this.runner.run(request, (event) => this.forwardJobEvent(ws, event)).catch((error: Error) => sendFailure(ws, request.requestId, error));
      case 'job.cancel':
        this.runner.cancel(request.requestId);
        return;
      case 'content.list':
        return listContent(this.options.homeDir).then(
          (items) => send(ws, { type: 'content.items', requestId: request.requestId, items }),
          (error: Error) => sendFailure(ws, request.requestId, error),
        );
      case 'plan.request':
        return planForApp(request, this.options.modelPaths).then(
          ({ model, plan }) => send(ws, { type: 'plan.result', requestId: request.requestId, model, plan }),
          (error: Error) => sendFailure(ws, request.requestId, error),
        );
    }
  }

  /** Sends a job's event to its interface; its outcome also goes to the node's logs, with the job id. */
  private forwardJobEvent(ws: WebSocket, event: AppEvent): void {
    send(ws, event);
    const log = this.pocketBase?.access;
    if (!log) return;
    if (event.type === 'job.done') void log.log('info', `job completed for the interface: ${event.tokens} tokens (${event.finishReason}) from ${event.provider}`, { jobId: event.jobId, data: { firstTokenMs: event.firstTokenMs, totalMs: event.totalMs } }).catch(() => undefined);
    if (event.type === 'job.failed') void log.log('warn', `job from the interface failed (${event.code}): ${event.message}`, { jobId: event.jobId }).catch(() => undefined);
  }

  private async welcome(ws: WebSocket): Promise<void> {
    const local = this.options.localModels;
    send(ws, { type: 'welcome', node: this.options.node, models: local ? local() : [], pocketbase: await this.pocketBaseToken(), content: { available: true } });
    // A client node asks its aggregator, which may take a while to answer (or not answer): the page does not wait.
    if (!local) void this.runner.networkModels().then((models) => send(ws, { type: 'models', models }), () => undefined);
    void this.pocketBase?.access.log('info', 'an interface connected').catch(() => undefined);
    await this.sendUsage([ws]);
    // One timer for every open interface, running while at least one is.
    this.usageTimer ??= setInterval(() => void this.sendUsage([...this.authenticated]), USAGE_INTERVAL_MS);
  }

  private stopUsage(): void {
    clearInterval(this.usageTimer);
    this.usageTimer = undefined;
  }

  private async pocketBaseToken(): Promise<PocketBaseAccess | null> {
    if (!this.pocketBase) return null;
    return this.pocketBase.access.token().catch((error: Error) => {
      this.options.logger.warn({ err: error.message }, 'no PocketBase token for the interface');
      return null;
    });
  }

  private async sendUsage(to: WebSocket[]): Promise<void> {
    try {
      const usage = await this.sampler.sample();
      const payments = (await this.pocketBase?.access.payments().catch(() => [])) ?? [];
      for (const ws of to) send(ws, { type: 'usage', usage, earnings: summariseEarnings(payments) });
    } catch (error) {
      this.options.logger.debug({ err: (error as Error).message }, 'no usage sample for the interface');
    }
  }

  private async serveUpload(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (request.method !== 'POST') return replyJson(response, 405, { error: { code: 'method_not_allowed', message: 'POST the file bytes here' } });
    const token = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '')?.[1];
    if (!token || !(await this.keys.verify(token))) {
      response.setHeader('connection', 'close'); // the unread body is not worth reading
      return replyJson(response, 401, { error: { code: 'invalid_api_key', message: 'a valid API key is needed' } });
    }
    try {
      const added = await receiveContentUpload(request, this.options.homeDir, this.options.maxUploadBytes !== undefined ? { maxBytes: this.options.maxUploadBytes } : {});
      void this.pocketBase?.access.log('info', `content added from the interface: ${added.name} (${added.kind}, ${added.size} bytes) as ${added.cid}`, { data: added }).catch(() => undefined);
      replyJson(response, 200, added);
    } catch (error) {
      if (!(error instanceof ContentUploadError)) throw error;
      // A body over the limit is not read further: the answer goes out with connection: close, which drops it.
      if (error.status === 413) response.setHeader('connection', 'close');
      else request.resume(); // drain what the browser still sends, so it reads our answer
      replyJson(response, error.status, { error: { code: 'content_upload', message: error.message } });
    }
  }
}

function send(ws: WebSocket, event: AppEvent): void {
  if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(event));
}

function sendFailure(ws: WebSocket, requestId: string, error: Error): void {
  send(ws, { type: 'error', requestId, code: error.name, message: error.message });
}

function replyJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}

/**
 * A page from another site must not drive the node through a browser's WebSocket: a browser's socket must come
 * from the page the node served (same host and port). Clients that send no Origin (Electron's main, tools) pass.
 */
export function isSameOrigin(request: IncomingMessage): boolean {
  const origin = request.headers.origin;
  if (!origin) return true;
  try {
    return new URL(origin).host === request.headers.host;
  } catch {
    return false;
  }
}
