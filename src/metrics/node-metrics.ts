// The Prometheus metrics of one node, in a registry of its own (several nodes may share a process in tests).
// Job figures follow from the job store's transitions (JobMetricsReader, a reader of the job event feed); peers and load are read at scrape time.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { JobRole, JobState } from '../jobs/index.js';

export const METRIC_PREFIX = 'infernet_';

export interface PeerCountSource {
  role: string;
}

export interface ProviderLoadSource {
  activeJobs: number;
  slots: number;
}

/** Per-job decode rates, from 1 token/s to 10k tokens/s. */
const TOKENS_PER_SECOND_BUCKETS = [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];

export class NodeMetrics {
  readonly registry = new Registry();
  /** Every state a job entered (created included), by the node's role in it. */
  readonly jobTransitions: Counter<'role' | 'state'>;
  /** Tokens of jobs that finished: generated here for the provider role, relayed or received for the others. */
  readonly tokens: Counter<'role'>;
  readonly tokensPerSecond: Histogram<'role'>;
  readonly transportBytes: Counter<'direction'>;
  /** Fed by discovery: one per DHT lookup, by outcome (found, not_found, error). */
  readonly dhtLookups: Counter<'outcome'>;
  /** Fed by verification: results refused, by reason (bad_signature here today). */
  readonly verificationFailures: Counter<'reason'>;
  /** Fed by payments: amounts paid and received, by currency. */
  readonly paymentAmounts: Counter<'direction' | 'currency'>;
  private readonly unfinished = new Map<string, { role: JobRole; state: JobState }>();
  private peers: () => readonly PeerCountSource[] = () => [];
  private providerLoad?: () => ProviderLoadSource;
  private natUpgrades?: () => { tried: number; won: number } | undefined;

  constructor() {
    const registers = [this.registry];
    this.jobTransitions = new Counter({ name: `${METRIC_PREFIX}jobs_total`, help: 'Jobs that entered each state, by the role this node had in them', labelNames: ['role', 'state'], registers });
    const active = new Gauge({
      name: `${METRIC_PREFIX}jobs_active`,
      help: 'Jobs not finished yet, by role and state (the queue of an aggregator, the running jobs of a provider)',
      labelNames: ['role', 'state'],
      registers,
      collect: () => {
        active.reset();
        for (const { role, state } of this.unfinished.values()) active.inc({ role, state });
      },
    });
    this.tokens = new Counter({ name: `${METRIC_PREFIX}tokens_total`, help: 'Tokens of finished jobs, by role (provider: generated here)', labelNames: ['role'], registers });
    this.tokensPerSecond = new Histogram({ name: `${METRIC_PREFIX}job_tokens_per_second`, help: 'Tokens per second of each completed job, from running to completed', labelNames: ['role'], buckets: TOKENS_PER_SECOND_BUCKETS, registers });
    const peers = new Gauge({
      name: `${METRIC_PREFIX}peers`,
      help: 'Connected, authenticated peers by their role',
      labelNames: ['role'],
      registers,
      collect: () => {
        peers.reset();
        for (const peer of this.peers()) peers.inc({ role: peer.role });
      },
    });
    const slots: Gauge = new Gauge({ name: `${METRIC_PREFIX}provider_slots`, help: 'Job slots this provider offers', registers, collect: () => slots.set(this.providerLoad?.().slots ?? 0) });
    const running: Gauge = new Gauge({ name: `${METRIC_PREFIX}provider_active_jobs`, help: 'Jobs this provider runs now', registers, collect: () => running.set(this.providerLoad?.().activeJobs ?? 0) });
    this.transportBytes = new Counter({ name: `${METRIC_PREFIX}transport_bytes_total`, help: 'Bytes of protocol frames over peer sessions', labelNames: ['direction'], registers });
    this.dhtLookups = new Counter({ name: `${METRIC_PREFIX}dht_lookups_total`, help: 'DHT lookups by outcome', labelNames: ['outcome'], registers });
    this.verificationFailures = new Counter({ name: `${METRIC_PREFIX}verification_failures_total`, help: 'Results that failed verification, by reason', labelNames: ['reason'], registers });
    this.paymentAmounts = new Counter({ name: `${METRIC_PREFIX}payment_amount_total`, help: 'Payments by direction (paid, received) and currency, in units of the currency', labelNames: ['direction', 'currency'], registers });
    const upgrades: Counter<'outcome'> = new Counter({
      name: `${METRIC_PREFIX}nat_upgrades_total`,
      help: 'Relayed connections this node tried to upgrade to a direct WebRTC (UDP) one, and those upgrades won',
      labelNames: ['outcome'],
      registers,
      collect: () => {
        const counts = this.natUpgrades?.() ?? { tried: 0, won: 0 };
        upgrades.reset();
        upgrades.inc({ outcome: 'tried' }, counts.tried);
        upgrades.inc({ outcome: 'won' }, counts.won);
      },
    });
    for (const direction of ['sent', 'received']) this.transportBytes.inc({ direction }, 0);
  }

  /** The sessions the peer gauge counts, read at every scrape. */
  observePeers(source: () => readonly PeerCountSource[]): void {
    this.peers = source;
  }

  /** Discovery's upgrade counts (src/nat), read at every scrape. */
  observeNatUpgrades(source: () => { tried: number; won: number } | undefined): void {
    this.natUpgrades = source;
  }

  observeProviderLoad(source: () => ProviderLoadSource): void {
    this.providerLoad = source;
  }

  /** A job entered `state`; JobMetricsReader calls this for each event of the job event feed. */
  recordJobState(jobId: string, role: JobRole, state: JobState, finished: boolean): void {
    this.jobTransitions.inc({ role, state });
    const key = `${role}:${jobId}`;
    if (finished) this.unfinished.delete(key);
    else this.unfinished.set(key, { role, state });
  }

  /** Awaited before each render: the daemon's job event feed reaching its end, so a scrape sees every job move. */
  private catchUp: () => Promise<void> = async () => undefined;

  /** Makes each render wait for `catchUp` (the job event feed this registry's job figures follow). */
  renderAfter(catchUp: () => Promise<void>): void {
    this.catchUp = catchUp;
  }

  async render(): Promise<string> {
    await this.catchUp().catch(() => undefined); // figures a little behind beat no figures
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
