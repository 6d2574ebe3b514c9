// The aggregator's batch runner: picks up batches submitted to its store (by `infernet batch submit` or the HTTP
// API), resumes the ones a stop interrupted, and runs each request as an ordinary job through its own aggregator,
// over one client session per provider so that no one session carries the whole batch's frames. A queued batch
// cancelled while another runs is ended at once, not when its turn comes.
import type { NodeConfig, NodeHome, TransportLimits } from '../config/index.js';
import type { NodeKey } from '../identity/index.js';
import type { Logger } from '../log/index.js';
import { runClientJob } from '../client/run-client-job.js';
import { JobFailedError } from '../client/job-client.js';
import type { JobPayer } from '../payments/index.js';
import type { ProviderLoad } from '../aggregator/aggregator-service.js';
import { dialPeer, type PeerSession } from '../transport/index.js';
import { BatchCoordinator, type BatchProvider, type RunBatchRequest } from './batch-coordinator.js';
import { isCancelRequested, type BatchRecord, type BatchStore } from './batch-store.js';
import { finishCancelledBatch } from './batch-cancel.js';
import { openBatchStore, type OpenedBatchStore } from './open-batch-store.js';

/** How often the store is looked at for new batches. */
const BATCH_POLL_MS = 300;

export interface BatchServiceOptions {
  store: BatchStore;
  key: NodeKey;
  agent: string;
  /** This aggregator's own job endpoint. */
  aggregatorUrl: string;
  limits: TransportLimits;
  logger: Logger;
  /** The providers connected to this aggregator now. */
  providers: () => ProviderLoad[];
  pollMs?: number;
  /** Pays the requests' matches that ask for payment (the node's payments section). */
  payer?: JobPayer;
}

export class BatchService {
  private readonly stopping = new AbortController();
  private readonly sessions = new Map<string, Promise<PeerSession>>();
  private readonly loop: Promise<void>;
  /** Batches one of the two loops holds now: the other leaves them alone. */
  private readonly held = new Set<string>();

  constructor(private readonly options: BatchServiceOptions) {
    this.loop = Promise.all([this.runBatches(), this.endCancelledQueued()]).then(() => undefined);
  }

  async stop(): Promise<void> {
    this.stopping.abort('the node is stopping');
    await this.loop;
    for (const session of this.sessions.values()) await session.then((open) => open.close('batch service stopped'), () => undefined);
    this.sessions.clear();
  }

  /** Oldest first, one batch at a time: a batch already uses every provider. */
  private async runBatches(): Promise<void> {
    const { store, logger } = this.options;
    while (!this.stopping.signal.aborted) {
      try {
        const waiting = await store.listBatches({ states: ['running', 'queued'] });
        const next = waiting.filter((batch) => !this.held.has(batch.batchId)).sort((a, b) => a.createdAt - b.createdAt)[0];
        if (next) await this.holding(next.batchId, () => this.runBatch(next));
      } catch (error) {
        logger.error({ err: (error as Error).message }, 'batch runner failed; retrying');
      }
      await sleep(this.options.pollMs ?? BATCH_POLL_MS, this.stopping.signal);
    }
  }

  private async endCancelledQueued(): Promise<void> {
    const { store, logger } = this.options;
    while (!this.stopping.signal.aborted) {
      try {
        for (const batch of await store.listBatches({ states: ['queued'] })) {
          if (!isCancelRequested(batch) || this.held.has(batch.batchId)) continue;
          const counts = await this.holding(batch.batchId, async () => finishCancelledBatch(store, batch, await store.requestsOf(batch.batchId)));
          logger.info({ batchId: batch.batchId, ...counts }, 'batch cancelled before it ran');
        }
      } catch (error) {
        logger.error({ err: (error as Error).message }, 'cannot end cancelled batches; retrying');
      }
      await sleep(this.options.pollMs ?? BATCH_POLL_MS, this.stopping.signal);
    }
  }

  /** Held from the check on: the check and the claim run in one turn of the event loop, so no loop takes it twice. */
  private async holding<T>(batchId: string, use: () => Promise<T>): Promise<T> {
    this.held.add(batchId);
    try {
      return await use();
    } finally {
      this.held.delete(batchId);
    }
  }

  private async runBatch(batch: BatchRecord): Promise<void> {
    const { store, logger } = this.options;
    const requests = await store.requestsOf(batch.batchId);
    const coordinator = new BatchCoordinator({
      batch,
      requests,
      store,
      providers: () => this.providersOf(batch.model),
      runRequest: this.runRequest,
      logger,
      signal: this.stopping.signal,
    });
    await coordinator.run();
  }

  private providersOf(model: string): BatchProvider[] {
    return this.options.providers().filter((provider) => provider.models.includes(model) && provider.slots > 0).map(({ id, slots }) => ({ id, slots }));
  }

  private readonly runRequest: RunBatchRequest = async (spec, provider, signal) => {
    const session = await this.sessionFor(provider);
    // Each request is a client job like any other: checked under its policy, paid by the node's payer; the batch
    // store, not the job store, keeps its record.
    const { key, payer, logger } = this.options;
    return runClientJob({ session, key, spec, logger, ...(payer ? { payer } : {}), hooks: { provider, signal } });
  };

  private async sessionFor(provider: string): Promise<PeerSession> {
    const existing = this.sessions.get(provider);
    const open = await existing?.catch(() => undefined);
    if (open?.isOpen) return open;
    const { key, agent, limits, logger, aggregatorUrl } = this.options;
    const dialing = dialPeer(aggregatorUrl, { identity: { key, role: 'client', agent }, limits, logger });
    this.sessions.set(provider, dialing);
    try {
      return await dialing;
    } catch (error) {
      this.sessions.delete(provider);
      throw new JobFailedError('batch', 'closed', `cannot reach this node's own aggregator at ${aggregatorUrl}: ${(error as Error).message}`);
    }
  }
}

export interface StartBatchServiceOptions extends Omit<BatchServiceOptions, 'store' | 'limits'> {
  home: NodeHome;
  config: NodeConfig;
}

export interface RunningBatchService {
  service: BatchService;
  /** The store the service reads batches from: the HTTP API submits there too. */
  store: BatchStore;
  stop(): Promise<void>;
}

/** Starts the batch runner of an aggregator; undefined (with the reason logged) when its home keeps no PocketBase. */
export async function startBatchService(options: StartBatchServiceOptions): Promise<RunningBatchService | undefined> {
  let opened: OpenedBatchStore;
  try {
    opened = await openBatchStore(options.home, options.config);
  } catch (error) {
    options.logger.warn({ err: (error as Error).message }, 'batch jobs are not served by this node');
    return undefined;
  }
  const service = new BatchService({ ...options, store: opened.store, limits: options.config.limits });
  return {
    service,
    store: opened.store,
    stop: async () => {
      await service.stop();
      await opened.close();
    },
  };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}
