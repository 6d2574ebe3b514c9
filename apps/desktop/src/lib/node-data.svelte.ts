// The node's PocketBase, read as an app with the token the daemon handed out: jobs, their transitions,
// reputation and logs, loaded once and kept current through PocketBase's realtime subscriptions.
import PocketBase, { type RecordModel } from 'pocketbase';
import type { JobEventRow, JobRow, LogRow, PocketBaseAccess, ReputationEventRow } from './app-messages';

const KEPT_ROWS = 500;

type Row = { id: string };

export class NodeData {
  jobs = $state<JobRow[]>([]);
  jobEvents = $state<JobEventRow[]>([]);
  reputation = $state<ReputationEventRow[]>([]);
  logs = $state<LogRow[]>([]);
  loaded = $state(false);
  error = $state('');

  private client?: PocketBase;
  private url = '';

  /** Opens the node's PocketBase, or just swaps the token when the same one is open. */
  async open(access: PocketBaseAccess): Promise<void> {
    if (this.client && this.url === access.url) {
      this.client.authStore.save(access.token, null);
      return;
    }
    await this.close();
    const client = new PocketBase(access.url);
    client.autoCancellation(false);
    client.authStore.save(access.token, null);
    this.client = client;
    this.url = access.url;
    try {
      await Promise.all([
        this.follow<JobRow>('jobs', '-createdAt', (rows) => (this.jobs = rows), () => this.jobs),
        this.follow<JobEventRow>('job_events', '-at', (rows) => (this.jobEvents = rows), () => this.jobEvents),
        this.follow<ReputationEventRow>('reputation_events', '-at', (rows) => (this.reputation = rows), () => this.reputation),
        this.follow<LogRow>('logs', '-at', (rows) => (this.logs = rows), () => this.logs),
      ]);
      this.loaded = true;
      this.error = '';
    } catch (error) {
      this.error = `the node's database cannot be read: ${(error as Error).message}`;
    }
  }

  async close(): Promise<void> {
    await this.client?.realtime.unsubscribe().catch(() => undefined);
    this.client = undefined;
  }

  /** Loads the newest rows, then applies every create, update and delete the realtime stream reports. */
  private async follow<T extends Row>(collection: string, sort: string, set: (rows: T[]) => void, get: () => T[]): Promise<void> {
    const client = this.client!;
    const page = await client.collection(collection).getList<T & RecordModel>(1, KEPT_ROWS, { sort });
    set(page.items);
    await client.collection(collection).subscribe<T & RecordModel>('*', ({ action, record }) => {
      const rest = get().filter((row) => row.id !== record.id);
      set(action === 'delete' ? rest : [record, ...rest].slice(0, KEPT_ROWS));
    });
  }
}
