// The interface's WebSocket to its daemon: says hello with the API key, then receives the node's identity, a
// PocketBase token, usage every two seconds and the events of the jobs it submits. Reconnects with backoff.
import type { AppEvent, ContentItem, DeploymentPlan, EarningsTotal, JobSubmission, NodeInfo, NodeUsage, PlanModel, PocketBaseAccess } from './app-messages';

export const APP_SOCKET_PATH = '/app/ws';
const CLOSE_UNAUTHORIZED = 4401;
const MAX_RECONNECTS = 60;
const USAGE_HISTORY = 60;
const TOKEN_REFRESH_MARGIN_MS = 5 * 60_000;
const REQUEST_TIMEOUT_MS = 15_000;

export type ConnectionStatus = 'idle' | 'connecting' | 'open' | 'closed' | 'unauthorized';
type JobListener = (event: AppEvent) => void;

export class DaemonConnection {
  status = $state<ConnectionStatus>('idle');
  error = $state('');
  node = $state<NodeInfo | null>(null);
  models = $state<string[]>([]);
  content = $state<{ available: boolean; reason?: string }>({ available: false });
  usage = $state<NodeUsage | null>(null);
  usageHistory = $state<NodeUsage[]>([]);
  earnings = $state<EarningsTotal[]>([]);
  pocketbase = $state<PocketBaseAccess | null>(null);

  private ws?: WebSocket;
  private listeners = new Map<string, JobListener>();
  private reconnects = 0;
  private refreshTimer?: ReturnType<typeof setTimeout>;
  private apiUrl = '';
  private key = '';
  private nextId = 0;

  connect(apiUrl: string, key: string): void {
    this.apiUrl = apiUrl;
    this.key = key;
    this.reconnects = 0;
    this.open();
  }

  disconnect(): void {
    this.reconnects = MAX_RECONNECTS;
    this.ws?.close();
  }

  /** Sends a job; `onEvent` gets job.started, job.matched, job.text..., then job.done or job.failed (or error). */
  submit(job: JobSubmission, onEvent: JobListener): string {
    const requestId = this.requestId();
    this.listeners.set(requestId, (event) => {
      if (event.type === 'job.done' || event.type === 'job.failed' || event.type === 'error') this.listeners.delete(requestId);
      onEvent(event);
    });
    this.send({ type: 'job.submit', requestId, ...job });
    return requestId;
  }

  cancel(requestId: string): void {
    this.send({ type: 'job.cancel', requestId });
  }

  plan(model: string, gpus: string): Promise<{ model: PlanModel; plan: DeploymentPlan }> {
    return this.ask({ type: 'plan.request', model, gpus }, (event) => (event.type === 'plan.result' ? { model: event.model, plan: event.plan } : undefined));
  }

  /** What the node's content store holds. */
  contentList(): Promise<ContentItem[]> {
    return this.ask({ type: 'content.list' }, (event) => (event.type === 'content.items' ? event.items : undefined));
  }

  /** One request, one answer: `pick` reads the answer it expects; an error event rejects. */
  private ask<T>(message: Record<string, unknown>, pick: (event: AppEvent) => T | undefined): Promise<T> {
    const requestId = this.requestId();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.listeners.delete(requestId);
        reject(new Error(`the daemon did not answer ${String(message.type)}`));
      }, REQUEST_TIMEOUT_MS);
      this.listeners.set(requestId, (event) => {
        clearTimeout(timer);
        this.listeners.delete(requestId);
        const answer = pick(event);
        if (answer !== undefined) resolve(answer);
        else reject(new Error(event.type === 'error' ? event.message : `unexpected ${event.type}`));
      });
      try {
        this.send({ ...message, requestId });
      } catch (error) {
        clearTimeout(timer);
        this.listeners.delete(requestId);
        reject(error as Error);
      }
    });
  }

  private requestId(): string {
    return `${Date.now().toString(36)}-${(this.nextId++).toString(36)}`;
  }

  private send(message: Record<string, unknown>): void {
    if (this.ws?.readyState !== WebSocket.OPEN) throw new Error('not connected to the daemon');
    this.ws.send(JSON.stringify(message));
  }

  private open(): void {
    this.status = 'connecting';
    const url = new URL(APP_SOCKET_PATH, this.apiUrl);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(url);
    this.ws = ws;
    ws.onopen = () => ws.send(JSON.stringify({ type: 'hello', key: this.key }));
    ws.onmessage = (message) => this.receive(JSON.parse(String(message.data)) as AppEvent);
    ws.onclose = (close) => this.closed(ws, close.code, close.reason);
  }

  private closed(ws: WebSocket, code: number, reason: string): void {
    if (ws !== this.ws) return;
    clearTimeout(this.refreshTimer);
    for (const [requestId, listener] of this.listeners) listener({ type: 'error', requestId, code: 'disconnected', message: 'the connection to the daemon closed' });
    this.listeners.clear();
    if (code === CLOSE_UNAUTHORIZED) {
      this.status = 'unauthorized';
      this.error = reason || 'the daemon refused this API key';
      return;
    }
    this.status = 'closed';
    this.error = reason || 'the daemon is not reachable';
    if (this.reconnects++ >= MAX_RECONNECTS) return;
    setTimeout(() => this.open(), Math.min(5_000, 250 * 2 ** Math.min(this.reconnects, 5)));
  }

  private receive(event: AppEvent): void {
    switch (event.type) {
      case 'welcome':
        this.status = 'open';
        this.error = '';
        this.reconnects = 0;
        this.node = event.node;
        this.models = event.models;
        this.content = event.content;
        this.setPocketBase(event.pocketbase);
        return;
      case 'pocketbase.token':
        return this.setPocketBase(event.pocketbase);
      case 'models':
        this.models = event.models;
        return;
      case 'usage':
        this.usage = event.usage;
        this.usageHistory = [...this.usageHistory, event.usage].slice(-USAGE_HISTORY);
        this.earnings = event.earnings;
        return;
      default:
        if ('requestId' in event && event.requestId) this.listeners.get(event.requestId)?.(event);
        else if (event.type === 'error') this.error = event.message;
    }
  }

  private setPocketBase(access: PocketBaseAccess | null): void {
    this.pocketbase = access;
    clearTimeout(this.refreshTimer);
    if (!access) return;
    const wait = Math.max(10_000, access.expiresAt - Date.now() - TOKEN_REFRESH_MARGIN_MS);
    this.refreshTimer = setTimeout(() => this.send({ type: 'pocketbase.refresh' }), wait);
  }
}
