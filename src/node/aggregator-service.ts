// The aggregator role: matches client jobs to connected providers and relays the job's frames between them.
// It sees the signed envelopes but not their encrypted content, checks signatures on the way, and enforces
// deadlines and cleanup when either side goes away.
import { SignatureMismatchError, verifyEnvelope } from '../identity/index.js';
import { forwardPath, type JobState, type JobStore } from '../jobs/index.js';
import type { Logger } from '../log/index.js';
import { EVENT_KIND_JOB_SPEC, type ErrorCode, type Frame, type FrameOf, type Price, type VerificationPolicy } from '../protocol/index.js';
import { VerdictRejectedError, type VerdictWitness } from '../verification/verdict-witness.js';
import type { PeerSession } from '../transport/index.js';
import { verifyJobResult } from './job-envelopes.js';
import { rankProviders } from './provider-selection.js';

export interface AggregatorServiceOptions {
  store: JobStore;
  logger: Logger;
  /**
   * Looks for more providers of a model (through discovery) when no connected one can take a job; resolves
   * once new providers are connected, or when there are none to be had.
   */
  discoverProviders?: (model: string) => Promise<void>;
  /** Refuses a client's job outside its pairing grant (src/grants); null lets it through. */
  admitJob?: (clientPublicKey: string, request: FrameOf<'job.request'>) => Promise<{ code: ErrorCode; message: string } | null>;
  /** Takes each relayed result and the clients' verdicts, and emits verification outcomes (src/verification). */
  witness?: VerdictWitness;
  /** A provider's reputation in [0, 1] (src/reputation); undefined when nothing is known. */
  reputationOf?: (pubkey: string) => number | undefined;
  /** A provider's result refused (bad signature): counted as a verification failure. */
  onResultRefused?: (reason: string) => void;
}

export interface ProviderLoad {
  /** Hex public key. */
  id: string;
  models: string[];
  slots: number;
  activeJobs: number;
  price?: Price;
}

interface RoutedJob {
  jobId: string;
  client: PeerSession;
  provider: PeerSession;
  deadlineTimer: NodeJS.Timeout;
  state: JobState;
  model: string;
  verification: VerificationPolicy;
  price?: Price;
}

const PROVIDER_FRAMES = new Set<Frame['type']>(['job.accept', 'job.reject', 'job.progress', 'job.tokens', 'job.result', 'error']);

export class AggregatorService {
  private readonly providers = new Set<PeerSession>();
  private readonly jobs = new Map<string, RoutedJob>();

  constructor(private readonly options: AggregatorServiceOptions) {}

  get providerCount(): number {
    return this.providers.size;
  }

  /** Every model some connected provider serves now. */
  availableModels(): string[] {
    return [...new Set([...this.providers].flatMap((session) => session.peer?.capabilities?.models.map((model) => model.name) ?? []))];
  }

  /** Connected providers, what they serve and the jobs routed to each now: what a batch plans its shards on. */
  providerLoads(): ProviderLoad[] {
    return this.candidates().map(({ id, capabilities, activeJobs }) => ({ id, models: capabilities.models.map((model) => model.name), slots: capabilities.slots, activeJobs, ...(capabilities.price ? { price: capabilities.price } : {}) }));
  }

  /** Hex keys of the connected providers that could take a job for the model now, best first (reputation included). */
  rankedProviders(model: string): string[] {
    return rankProviders(this.candidates(), { model: { name: model } }).map((candidate) => candidate.id);
  }

  addProvider(session: PeerSession): void {
    if (!session.peer?.capabilities) {
      session.log.warn('peer offers no capabilities; not used as a provider');
      return;
    }
    this.providers.add(session);
    session.onFrame((frame) => this.fromProvider(session, frame));
    session.onClose(() => {
      this.providers.delete(session);
      for (const job of this.jobsOf(session, 'provider')) this.fail(job, 'provider_unreachable', 'the provider disconnected before the job finished');
    });
  }

  addClient(session: PeerSession): void {
    session.onFrame((frame) => this.fromClient(session, frame));
    session.onClose(() => {
      for (const job of this.jobsOf(session, 'client')) this.cancel(job, 'the client disconnected');
    });
  }

  private fromClient(client: PeerSession, frame: Frame): void {
    if (frame.type === 'job.request') void this.match(client, frame);
    else if (frame.type === 'job.offer') void this.dispatch(client, frame);
    else if (frame.type === 'job.verdict') this.takeVerdict(client, frame);
    else if (frame.type === 'models.request') client.send({ type: 'models.list', models: this.availableModels().map((name) => ({ name })) });
    else if (frame.type === 'job.cancel') {
      const job = this.jobs.get(frame.jobId);
      if (job?.client === client) this.cancel(job, frame.reason ?? 'cancelled by the client');
      else client.sendError('job_not_found', `no job ${frame.jobId} of yours here`, frame.jobId);
    }
  }

  private async match(client: PeerSession, request: FrameOf<'job.request'>): Promise<void> {
    const { jobId } = request;
    const log = this.options.logger.child({ jobId, peer: client.peer?.npub });
    if (this.jobs.has(jobId)) return void client.send({ type: 'job.reject', jobId, code: 'duplicate_job', message: `job ${jobId} already exists` });
    if (request.deadline <= Date.now()) return void client.send({ type: 'job.reject', jobId, code: 'deadline_exceeded', message: 'the deadline has already passed' });
    const refusal = await this.options.admitJob?.(client.peer?.pubkey ?? '', request);
    if (refusal) return void client.send({ type: 'job.reject', jobId, ...refusal });
    // A batch coordinator names the provider of its shard (src/batch): only that one may be matched.
    const named = (candidate: { id: string }) => (!request.provider || candidate.id === request.provider) && !request.exclude?.includes(candidate.id);
    let candidates = this.candidates().filter(named);
    let [best] = rankProviders(candidates, request);
    if (!best && this.options.discoverProviders && !request.provider) {
      await this.options.discoverProviders(request.model.name).catch((error: Error) => log.warn({ err: error.message }, 'provider lookup failed'));
      candidates = this.candidates().filter(named);
      [best] = rankProviders(candidates, request);
    }
    if (!best) {
      log.warn({ model: request.model.name, providers: candidates.length }, 'no provider for job');
      return void client.send({ type: 'job.reject', jobId, code: 'no_provider', message: `no connected provider serves "${request.model.name}" with a free slot` });
    }
    const provider = candidates.find((candidate) => candidate.id === best.id)!.session;
    const deadlineTimer = setTimeout(() => this.expire(jobId), Math.min(request.deadline - Date.now(), 2 ** 31 - 1));
    this.jobs.set(jobId, { jobId, client, provider, deadlineTimer, state: 'matched', model: request.model.name, verification: request.verification ?? { kind: 'none' }, ...(best.capabilities.price ? { price: best.capabilities.price } : {}) });
    await this.record(jobId, { jobId, role: 'aggregator', model: request.model.name, client: client.peer?.pubkey, provider: best.id, state: 'matched' });
    client.send({ type: 'job.match', jobId, provider: best.id, ...(best.capabilities.price ? { price: best.capabilities.price } : {}) });
    log.info({ provider: provider.peer?.npub, model: request.model.name }, 'job matched');
  }

  private async dispatch(client: PeerSession, offer: FrameOf<'job.offer'>): Promise<void> {
    const job = this.jobs.get(offer.jobId);
    if (!job || job.client !== client || job.state !== 'matched') {
      return client.sendError('job_not_found', `job ${offer.jobId} was not matched for you`, offer.jobId);
    }
    try {
      verifyEnvelope(offer.spec, { kind: EVENT_KIND_JOB_SPEC, pubkey: client.peer?.pubkey, tags: { job: job.jobId, p: job.provider.peer?.pubkey ?? '' } });
    } catch (error) {
      if (!(error instanceof SignatureMismatchError)) throw error;
      client.send({ type: 'job.reject', jobId: job.jobId, code: 'bad_signature', message: error.message });
      return this.finish(job, 'failed', { code: 'bad_signature', message: error.message });
    }
    await this.move(job, 'dispatched');
    job.provider.send(offer);
  }

  private fromProvider(provider: PeerSession, frame: Frame): void {
    if (!PROVIDER_FRAMES.has(frame.type) || !('jobId' in frame) || !frame.jobId) return;
    const job = this.jobs.get(frame.jobId);
    if (!job || job.provider !== provider) return provider.sendError('job_not_found', `no job ${frame.jobId} routed to you`, frame.jobId);
    if (frame.type === 'job.result') return void this.complete(job, frame);
    job.client.send(frame);
    if (frame.type === 'job.accept') void this.move(job, 'running');
    else if (frame.type === 'job.reject' || frame.type === 'error') void this.finish(job, 'failed', { code: frame.code, message: frame.message });
  }

  private async complete(job: RoutedJob, frame: FrameOf<'job.result'>): Promise<void> {
    try {
      const summary = verifyJobResult(frame.result, job.provider.peer!.pubkey, job.jobId);
      // Witnessed before the client sees it: its verdict may follow at once.
      this.options.witness?.witness({ jobId: job.jobId, provider: job.provider.peer!.pubkey, client: job.client.peer?.pubkey ?? '', model: job.model, outputHash: summary.outputHash, resultEventId: frame.result.id, tokens: summary.tokens, ...(job.price ? { price: job.price } : {}) }, job.verification);
      job.client.send(frame);
      await this.finish(job, 'completed', undefined, { tokens: summary.tokens, outputHash: summary.outputHash });
    } catch (error) {
      const message = `the provider's result failed verification: ${(error as Error).message}`;
      this.options.onResultRefused?.('bad_signature');
      job.client.send({ type: 'error', code: 'bad_signature', jobId: job.jobId, message });
      await this.finish(job, 'failed', { code: 'bad_signature', message });
    }
  }

  private takeVerdict(client: PeerSession, frame: FrameOf<'job.verdict'>): void {
    try {
      this.options.witness?.verdict(client.peer?.pubkey ?? '', frame);
    } catch (error) {
      if (!(error instanceof VerdictRejectedError)) throw error;
      this.options.logger.warn({ jobId: frame.jobId, reason: error.message }, 'verification verdict refused');
      client.sendError('invalid_frame', `verdict refused: ${error.message}`, frame.jobId);
    }
  }

  private cancel(job: RoutedJob, reason: string): void {
    job.provider.send({ type: 'job.cancel', jobId: job.jobId, reason });
    job.client.send({ type: 'error', code: 'cancelled', jobId: job.jobId, message: reason });
    void this.finish(job, 'cancelled', { code: 'cancelled', message: reason });
  }

  private expire(jobId: string): void {
    const job = this.jobs.get(jobId);
    if (!job) return;
    job.provider.send({ type: 'job.cancel', jobId, reason: 'deadline exceeded' });
    this.fail(job, 'deadline_exceeded', 'the job passed its deadline');
  }

  private fail(job: RoutedJob, code: ErrorCode, message: string): void {
    job.client.send({ type: 'error', code, jobId: job.jobId, message });
    void this.finish(job, 'failed', { code, message });
  }

  private async finish(job: RoutedJob, state: 'completed' | 'failed' | 'cancelled', error?: { code: string; message: string }, patch: { tokens?: number; outputHash?: string } = {}): Promise<void> {
    clearTimeout(job.deadlineTimer);
    this.jobs.delete(job.jobId);
    await this.move(job, state, { ...patch, ...(error ? { error } : {}) });
    this.options.logger.info({ jobId: job.jobId, state, ...(error ? { code: error.code } : {}) }, 'job finished');
  }

  private async move(job: RoutedJob, to: JobState, patch: object = {}): Promise<void> {
    const from = job.state;
    job.state = to;
    for (const state of forwardPath(from, to)) {
      await this.options.store
        .transition(job.jobId, 'aggregator', state, state === to ? patch : {})
        .catch((error: Error) => this.options.logger.error({ jobId: job.jobId, err: error.message }, 'cannot record job transition'));
    }
  }

  private async record(jobId: string, job: Parameters<JobStore['create']>[0]): Promise<void> {
    await this.options.store.create(job).catch((error: Error) => this.options.logger.error({ jobId, err: error.message }, 'cannot record job'));
  }

  private candidates() {
    return [...this.providers].map((session) => {
      const reputation = this.options.reputationOf?.(session.peer!.pubkey);
      return { id: session.peer!.pubkey, session, capabilities: session.peer!.capabilities!, activeJobs: this.jobsOf(session, 'provider').length, ...(reputation !== undefined ? { reputation } : {}) };
    });
  }

  private jobsOf(session: PeerSession, side: 'client' | 'provider'): RoutedJob[] {
    return [...this.jobs.values()].filter((job) => job[side] === session);
  }
}
