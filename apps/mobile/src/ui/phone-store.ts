// The app's state and actions in one plain object that screens subscribe to: the phone key, the paired node,
// the connection, jobs (live from the session, merged with the history the node's PocketBase keeps),
// providers and notifications. Platform services (secure storage, notifications) are handed in.
import { generatePhoneKey, nsecOf, parsePairingLink, phoneKeyFromNsec, PhoneClient, type JobEvent, type JobLogSnapshot, type JobNotification, type JobRow, type JobStatus, type PairingLink, type PhoneKey, type ProviderSummary, type Price } from '../net/index.js';

export interface SecureStorage {
  get(name: string): Promise<string | null>;
  set(name: string, value: string): Promise<void>;
  remove(name: string): Promise<void>;
}

export interface Notifier {
  /** Shows a local notification (the app is running); resolves even where the platform has none. */
  present(notification: JobNotification): Promise<void>;
  /** The token the node may push to, or null where the platform gives none (permission refused, web, simulator). */
  pushToken(): Promise<{ token: string; platform: 'ios' | 'android' | 'web' | 'expo' } | null>;
}

export type ConnectFunction = (link: PairingLink, key: PhoneKey) => Promise<PhoneClient>;

export interface PhoneJob {
  jobId: string;
  model: string;
  prompt: string;
  status: JobStatus | string;
  output: string;
  tokens: number;
  provider: string;
  error: string;
  createdAt: number;
  updatedAt: number;
  /** true while this app follows the job over its session (streaming). */
  live: boolean;
}

export type ConnectionState = 'unpaired' | 'connecting' | 'connected' | 'disconnected';

export interface PhoneState {
  key: PhoneKey | null;
  link: PairingLink | null;
  connection: ConnectionState;
  connectionError: string;
  jobs: PhoneJob[];
  providers: ProviderSummary[] | null;
  providersError: string;
  notifications: JobNotification[];
  pushStatus: string;
  historyError: string;
}

const KEY_ITEM = 'infernet.phone.nsec';
const LINK_ITEM = 'infernet.node.link';
const MAX_NOTIFICATIONS = 20;
/** Reconnects after a lost session, with doubling delays, then stops until the user asks again. */
const RECONNECT_DELAYS_MS = [1_000, 2_000, 4_000, 8_000, 16_000, 30_000];

export class PhoneStore {
  private state: PhoneState = { key: null, link: null, connection: 'unpaired', connectionError: '', jobs: [], providers: null, providersError: '', notifications: [], pushStatus: '', historyError: '' };
  private readonly listeners = new Set<() => void>();
  private client: PhoneClient | null = null;
  private stopHistory: (() => void) | null = null;
  private reconnectAttempt = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly running = new Map<string, { cancel: (reason?: string) => void }>();

  constructor(
    private readonly storage: SecureStorage,
    private readonly notifier: Notifier,
    private readonly connectClient: ConnectFunction = (link, key) => PhoneClient.connect(link, key),
  ) {}

  get snapshot(): PhoneState {
    return this.state;
  }

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getSnapshot = (): PhoneState => this.state;

  /** Loads (or creates, on first start) the phone key and the saved node, and connects to it. */
  async start(): Promise<void> {
    const nsec = await this.storage.get(KEY_ITEM);
    let key: PhoneKey;
    if (nsec) key = phoneKeyFromNsec(nsec);
    else {
      key = generatePhoneKey();
      await this.storage.set(KEY_ITEM, nsecOf(key));
    }
    this.update({ key });
    const saved = await this.storage.get(LINK_ITEM);
    if (saved && !this.state.link) await this.pair(saved).catch(() => undefined);
  }

  /** Reads a pairing link (QR code or pasted text), saves it and connects. Throws PairingLinkError. */
  async pair(text: string): Promise<void> {
    const link = parsePairingLink(text);
    await this.storage.set(LINK_ITEM, text.trim());
    this.disconnect();
    this.update({ link, jobs: [], providers: null, connectionError: '', historyError: '', pushStatus: '' });
    await this.connect();
  }

  async forgetNode(): Promise<void> {
    this.disconnect();
    await this.storage.remove(LINK_ITEM);
    this.update({ link: null, connection: 'unpaired', jobs: [], providers: null, connectionError: '', pushStatus: '' });
  }

  /** A new key: the node must pair it again, so the old link is dropped. */
  async replaceKey(nsec?: string): Promise<void> {
    const key = nsec ? phoneKeyFromNsec(nsec) : generatePhoneKey();
    await this.storage.set(KEY_ITEM, nsecOf(key));
    await this.forgetNode();
    this.update({ key });
  }

  async connect(): Promise<void> {
    const { link, key } = this.state;
    if (!link || !key) return;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.update({ connection: 'connecting', connectionError: '' });
    try {
      const client = await this.connectClient(link, key);
      if (this.state.link !== link) return client.close();
      this.client = client;
      this.reconnectAttempt = 0;
      client.subscribe({
        onJobEvent: (event) => this.applyJobEvent(event),
        onNotification: (notification) => this.notify(notification),
        onDisconnect: (reason) => this.lost(client, reason),
      });
      this.update({ connection: 'connected' });
      this.watchHistory(client);
      void this.registerPush(client);
    } catch (error) {
      this.update({ connection: 'disconnected', connectionError: (error as Error).message });
      this.scheduleReconnect();
    }
  }

  /** Sends a job; its progress arrives through the session. Returns the job id. */
  submit(parameters: { model: string; prompt: string; maxTokens: number; temperature?: number; priceCap?: Price }): string {
    if (!this.client?.connected) throw new Error('not connected to a node: pair one in Settings');
    const now = Date.now();
    const job = this.client.submit(parameters);
    this.running.set(job.jobId, job);
    void job.done.then(() => this.running.delete(job.jobId));
    this.upsert({ jobId: job.jobId, model: parameters.model, prompt: parameters.prompt, status: 'requested', output: '', tokens: 0, provider: '', error: '', createdAt: now, updatedAt: now, live: true });
    return job.jobId;
  }

  cancel(jobId: string): void {
    this.running.get(jobId)?.cancel();
  }

  async refreshProviders(): Promise<void> {
    const history = this.client?.history;
    if (!history) return this.update({ providers: [], providersError: this.state.link ? 'this pairing gives no access to the node history' : 'not paired' });
    try {
      this.update({ providers: await history.providers(), providersError: '' });
    } catch (error) {
      this.update({ providersError: (error as Error).message });
    }
  }

  async logSnapshot(jobId: string): Promise<JobLogSnapshot | null> {
    return (await this.client?.history?.snapshot(jobId)) ?? null;
  }

  dismissNotification(jobId: string): void {
    this.update({ notifications: this.state.notifications.filter((notification) => notification.jobId !== jobId) });
  }

  stop(): void {
    this.disconnect();
    this.listeners.clear();
  }

  private applyJobEvent(event: JobEvent): void {
    const job = this.state.jobs.find((candidate) => candidate.jobId === event.jobId);
    if (!job) return;
    const now = Date.now();
    if (event.type === 'status') this.upsert({ ...job, status: event.status, provider: event.provider ?? job.provider, updatedAt: now });
    else if (event.type === 'text') this.upsert({ ...job, output: event.output, status: 'generating', updatedAt: now });
    else if (event.type === 'completed') this.upsert({ ...job, status: 'completed', output: event.output, tokens: event.tokens, provider: event.provider, updatedAt: now, live: false });
    else this.upsert({ ...job, status: job.status === 'cancelled' ? 'cancelled' : 'failed', error: `${event.code}: ${event.message}`, updatedAt: now, live: false });
  }

  private notify(notification: JobNotification): void {
    this.update({ notifications: [notification, ...this.state.notifications.filter((known) => known.jobId !== notification.jobId)].slice(0, MAX_NOTIFICATIONS) });
    void this.notifier.present(notification).catch(() => undefined);
  }

  private watchHistory(client: PhoneClient): void {
    this.stopHistory?.();
    this.stopHistory = client.history?.watch(
      (rows) => this.mergeHistory(rows),
      (error) => this.update({ historyError: error.message }),
    ) ?? null;
  }

  /** History rows fill in jobs this app does not follow live (older ones, or from before a restart). */
  private mergeHistory(rows: JobRow[]): void {
    const jobs = new Map(this.state.jobs.map((job) => [job.jobId, job]));
    for (const row of rows) {
      const known = jobs.get(row.jobId);
      if (known?.live) continue;
      jobs.set(row.jobId, {
        jobId: row.jobId,
        model: row.model,
        prompt: known?.prompt ?? '',
        status: row.state,
        output: known?.output ?? '',
        tokens: row.tokens || known?.tokens || 0,
        provider: row.provider,
        error: row.error ? `${row.error.code}: ${row.error.message}` : (known?.error ?? ''),
        createdAt: row.createdAt,
        updatedAt: row.updatedAt,
        live: false,
      });
    }
    this.update({ jobs: [...jobs.values()].sort((a, b) => b.createdAt - a.createdAt), historyError: '' });
  }

  private async registerPush(client: PhoneClient): Promise<void> {
    const push = await this.notifier.pushToken().catch(() => null);
    if (!push) return this.update({ pushStatus: 'no push token on this device: notifications only while the app runs' });
    try {
      await client.registerPushToken(push.token, push.platform);
      this.update({ pushStatus: `push token registered with the node (${push.platform})` });
    } catch (error) {
      this.update({ pushStatus: `push token not registered: ${(error as Error).message}` });
    }
  }

  private lost(client: PhoneClient, reason: string): void {
    if (this.client !== client) return;
    this.client = null;
    this.stopHistory?.();
    this.stopHistory = null;
    this.update({ connection: 'disconnected', connectionError: reason });
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    const delay = RECONNECT_DELAYS_MS[this.reconnectAttempt++];
    if (delay === undefined || !this.state.link) return;
    this.reconnectTimer = setTimeout(() => void this.connect(), delay);
  }

  private disconnect(): void {
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.reconnectAttempt = 0;
    this.stopHistory?.();
    this.stopHistory = null;
    const client = this.client;
    this.client = null;
    client?.close();
  }

  private upsert(job: PhoneJob): void {
    const others = this.state.jobs.filter((candidate) => candidate.jobId !== job.jobId);
    this.update({ jobs: [job, ...others].sort((a, b) => b.createdAt - a.createdAt) });
  }

  private update(patch: Partial<PhoneState>): void {
    this.state = { ...this.state, ...patch };
    for (const listener of [...this.listeners]) listener();
  }
}
