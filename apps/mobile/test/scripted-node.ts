// A scripted stand-in for the paired node in component tests: the screens see the PhoneClient interface, and
// the test decides which job events, history rows and providers arrive. The real network layer is exercised
// against a real daemon in test/e2e/mobile-network.test.ts and the web build in test/e2e/mobile-web.test.ts.
import { formatPairingLink, generatePhoneKey, notificationFor, type JobEvent, type JobLogSnapshot, type JobNotification, type JobRow, type PairingLink, type PhoneClient, type PhoneClientListener, type ProviderSummary, type SubmitJobParameters } from '../src/net/index';
import { PhoneStore, type Notifier, type SecureStorage } from '../src/ui/phone-store';

export const NODE = generatePhoneKey();

export const LINK: PairingLink = {
  node: NODE.npub,
  ws: 'wss://node.example:7420',
  grant: { id: '0123456789abcdef', models: ['stories260K'], maxTokens: 48, jobsPerHour: 10, priceCap: '0.05 USDC per 1k_tokens', expiresAt: Date.UTC(2030, 0, 1) },
  pocketbase: { url: 'https://node.example:8090', email: 'phone@phones.infernet.local', password: 'secret' },
};
export const LINK_TEXT = formatPairingLink(LINK);

export class MemoryStorage implements SecureStorage {
  readonly items = new Map<string, string>();
  async get(name: string) {
    return this.items.get(name) ?? null;
  }
  async set(name: string, value: string) {
    this.items.set(name, value);
  }
  async remove(name: string) {
    this.items.delete(name);
  }
}

export class RecordingNotifier implements Notifier {
  readonly presented: JobNotification[] = [];
  async present(notification: JobNotification) {
    this.presented.push(notification);
  }
  async pushToken() {
    return { token: 'ExponentPushToken[scripted]', platform: 'expo' as const };
  }
}

export class ScriptedNode {
  readonly submitted: (SubmitJobParameters & { jobId: string })[] = [];
  readonly cancelled: string[] = [];
  readonly pushTokens: string[] = [];
  providers: ProviderSummary[] = [];
  rows: JobRow[] = [];
  snapshots = new Map<string, JobLogSnapshot>();
  private listeners = new Set<PhoneClientListener>();
  private historyWatchers = new Set<(rows: JobRow[]) => void>();
  private nextId = 1;

  connect = async (link: PairingLink) => {
    const client = {
      link,
      connected: true,
      history: {
        watch: (onChange: (rows: JobRow[]) => void) => {
          this.historyWatchers.add(onChange);
          onChange(this.rows);
          return () => this.historyWatchers.delete(onChange);
        },
        providers: async () => this.providers,
        snapshot: async (jobId: string) => this.snapshots.get(jobId) ?? { job: null, events: [], logs: [] },
        jobs: async () => this.rows,
        close: () => undefined,
      },
      subscribe: (listener: PhoneClientListener) => {
        this.listeners.add(listener);
        return () => this.listeners.delete(listener);
      },
      submit: (parameters: SubmitJobParameters) => {
        const jobId = `job-scripted-${this.nextId++}`;
        this.submitted.push({ ...parameters, jobId });
        return { jobId, done: new Promise(() => undefined), cancel: () => this.cancelled.push(jobId) };
      },
      registerPushToken: async (token: string) => void this.pushTokens.push(token),
      close: () => this.listeners.clear(),
    };
    return client as unknown as PhoneClient;
  };

  /** Delivers a job event the way PhoneClient does: the event, then the notification it raises. */
  emit(event: JobEvent, model = 'stories260K'): void {
    const notification = notificationFor(event, model);
    for (const listener of this.listeners) {
      listener.onJobEvent?.(event);
      if (notification) listener.onNotification?.(notification);
    }
  }

  setRows(rows: JobRow[]): void {
    this.rows = rows;
    for (const watcher of this.historyWatchers) watcher(rows);
  }
}

export function jobRow(patch: Partial<JobRow> & { jobId: string }): JobRow {
  return { id: patch.jobId, collectionId: 'jobs', collectionName: 'jobs', role: 'aggregator', state: 'completed', model: 'stories260K', client: '', provider: 'ab'.repeat(32), aggregator: '', tokens: 12, output: '', outputHash: '', error: null, verification: null, createdAt: 1_700_000_000_000, updatedAt: 1_700_000_001_000, ...patch };
}

const stores: PhoneStore[] = [];
/** Stops the stores of the last test, so no timer or late update of theirs reaches the next one. */
afterEach(() => {
  for (const store of stores.splice(0)) store.stop();
});

export async function startedStore(node = new ScriptedNode(), storage = new MemoryStorage(), notifier = new RecordingNotifier()) {
  const store = new PhoneStore(storage, notifier, (link) => node.connect(link));
  stores.push(store);
  await store.start();
  return { store, node, storage, notifier };
}
