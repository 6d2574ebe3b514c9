// The phone's view of its node's PocketBase: its jobs (the node records them as the aggregator, with the phone
// as client; an all-in-one node also keeps its provider's row of the same job, which the list leaves out), each job's events and logs, and the providers with their reputation. Signed in as the `users`
// account the pairing link carries. Changes are watched through PocketBase realtime where the platform has an
// EventSource, else by polling.
import PocketBase from 'pocketbase';
import type { JobEventRow, JobRow, LogRow, ProviderRow, ReputationEventRow } from './protocol.js';

export const HISTORY_POLL_MS = 2_000;
const PAGE_SIZE = 50;

export class HistoryUnavailableError extends Error {
  override readonly name = 'HistoryUnavailableError';
}

export interface JobLogSnapshot {
  job: JobRow | null;
  events: JobEventRow[];
  logs: LogRow[];
}

export interface ProviderSummary {
  pubkey: string;
  name: string;
  online: boolean;
  reputation: number;
  lastSeenAt: number;
  models: string[];
  recentEvents: ReputationEventRow[];
}

export class JobHistory {
  private readonly client: PocketBase;
  private signedIn?: Promise<void>;

  constructor(
    private readonly account: { url: string; email: string; password: string },
    /** The phone's hex public key: its jobs are the ones whose client it is. */
    private readonly phone: string,
  ) {
    this.client = new PocketBase(account.url);
    this.client.autoCancellation(false);
  }

  async jobs(): Promise<JobRow[]> {
    await this.signIn();
    const page = await this.client.collection('jobs').getList<JobRow>(1, PAGE_SIZE, { filter: this.jobsFilter(), sort: '-createdAt' });
    return page.items;
  }

  /** The log snapshot of one job: its row, its state changes and the node's log lines about it. */
  async snapshot(jobId: string): Promise<JobLogSnapshot> {
    await this.signIn();
    const filter = this.client.filter('jobId = {:jobId}', { jobId });
    const [jobs, events, logs] = await Promise.all([
      this.client.collection('jobs').getList<JobRow>(1, 1, { filter: this.client.filter('jobId = {:jobId} && client = {:phone} && role = "aggregator"', { jobId, phone: this.phone }) }),
      this.client.collection('job_events').getList<JobEventRow>(1, 200, { filter, sort: 'at' }),
      this.client.collection('logs').getList<LogRow>(1, 200, { filter, sort: 'at' }),
    ]);
    return { job: jobs.items[0] ?? null, events: events.items, logs: logs.items };
  }

  /** Providers by reputation; reputation events are those the node recorded, newest first (none until it records any). */
  async providers(): Promise<ProviderSummary[]> {
    await this.signIn();
    const [providers, events] = await Promise.all([
      this.client.collection('providers').getList<ProviderRow>(1, PAGE_SIZE, { sort: '-reputation' }),
      this.client.collection('reputation_events').getList<ReputationEventRow>(1, 200, { sort: '-at' }),
    ]);
    return providers.items.map((row) => ({
      pubkey: row.pubkey,
      name: row.name,
      online: row.online,
      reputation: row.reputation,
      lastSeenAt: row.lastSeenAt,
      models: (row.models ?? []).map(modelName).filter((name): name is string => Boolean(name)),
      recentEvents: events.items.filter((event) => event.provider === row.pubkey).slice(0, 5),
    }));
  }

  /** Calls onChange with the phone's jobs whenever one of them changes; returns a function that stops watching. */
  watch(onChange: (jobs: JobRow[]) => void, onError: (error: Error) => void = () => undefined): () => void {
    let stopped = false;
    let last = '';
    const refresh = async () => {
      try {
        const jobs = await this.jobs();
        const fingerprint = jobs.map((job) => `${job.jobId}:${job.state}:${job.updatedAt}`).join(',');
        if (!stopped && fingerprint !== last) {
          last = fingerprint;
          onChange(jobs);
        }
      } catch (error) {
        if (!stopped) onError(error as Error);
      }
    };
    void refresh();
    if (typeof (globalThis as { EventSource?: unknown }).EventSource === 'function') {
      const unsubscribe = this.signIn().then(() => this.client.collection('jobs').subscribe('*', () => void refresh(), { filter: this.jobsFilter() }));
      unsubscribe.catch((error: Error) => onError(error));
      return () => {
        stopped = true;
        void unsubscribe.then((stop) => stop()).catch(() => undefined);
      };
    }
    const timer = setInterval(() => void refresh(), HISTORY_POLL_MS);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }

  close(): void {
    this.client.cancelAllRequests();
    void this.client.realtime.unsubscribe().catch(() => undefined);
    this.client.authStore.clear();
  }

  private jobsFilter(): string {
    return this.client.filter('client = {:phone} && role = "aggregator"', { phone: this.phone });
  }

  private signIn(): Promise<void> {
    this.signedIn ??= this.client
      .collection('users')
      .authWithPassword(this.account.email, this.account.password)
      .then(() => undefined)
      .catch((cause: Error) => {
        this.signedIn = undefined;
        throw new HistoryUnavailableError(`cannot sign in to the node's PocketBase at ${this.account.url}: ${cause.message} (pair the phone again?)`, { cause });
      });
    return this.signedIn;
  }
}

function modelName(model: unknown): string | undefined {
  if (typeof model === 'string') return model;
  if (model && typeof model === 'object' && 'name' in model && typeof model.name === 'string') return model.name;
  return undefined;
}
