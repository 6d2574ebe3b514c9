// The provider role: accepts job offers from aggregators, runs them on the inference engine within its slots,
// streams tokens encrypted to the client, and returns a signed result.
import { conversationKeyOf, seal, type NodeKey } from '../identity/index.js';
import { SignatureMismatchError, DecryptionFailedError } from '../identity/index.js';
import type { GeneratedPiece, InferenceEngine } from '../inference/index.js';
import { DuplicateJobError, type JobStore } from '../jobs/index.js';
import { errorCodeOf, errorMessageOf, InfernetError } from '../errors/index.js';
import type { Logger } from '../log/index.js';
import { embeddingVectorsOf, jobKindOf, MAX_EMBEDDING_VALUES, type EmbeddingInput, type ErrorCode, type FrameOf, type JobKind, type JobOutput, type JobSpec, type Price } from '../protocol/index.js';
import type { ProviderJobPayments } from '../payments/terms/provider-payments.js';
import type { PeerSession } from '../transport/index.js';
import { openJobSpec, sealJobResult } from '../jobs/job-envelopes.js';
import type { ModelCatalog } from '../models/model-catalog.js';
import { fitsPriceCap } from '../payments/terms/pricing.js';

export interface ProviderServiceOptions {
  key: NodeKey;
  /** Absent while the provider cannot run jobs (see refusal). */
  engine?: InferenceEngine;
  /** Why every offer is refused, e.g. no Docker engine for the sandbox. */
  refusal?: string;
  catalog: ModelCatalog;
  store: JobStore;
  slots: number;
  price?: Price;
  logger: Logger;
  /** Alternatives recorded per token in every generation's fingerprints (0: only the chosen token's logprob). */
  fingerprintTopK?: number;
  /** Fetches a model named by content id that the catalog lacks (src/content); returns its local path. */
  fetchModel?: (model: { name: string; cid: string; maxBytes: number }, report: (message: string) => void) => Promise<string>;
  /** The largest model fetchModel may download (a peer names the content id; without a bound it could be any size). */
  maxModelFetchBytes?: number;
  /** The job payments this provider sees itself (src/payments): hold invoices in its LND, or deposits in its escrow. */
  payments?: ProviderJobPayments;
}

/** The longest message job.reject and error frames carry (src/protocol schemas). */
const MAX_REJECT_MESSAGE = 1024;
const MAX_ERROR_MESSAGE = 2048;

/** The default bound on a model fetched by content id (config: provider.maxModelFetchBytes). */
const DEFAULT_MAX_MODEL_FETCH_BYTES = 64 * 2 ** 30;

/** A few alternatives tell a near-tie from a wrong token; each costs the full probability list per token. */
const DEFAULT_FINGERPRINT_TOP_K = 4;

interface RunningJob {
  session: PeerSession;
  abort: AbortController;
}

/** Why an offer will not run here: told to the aggregator as job.reject with this code. */
class OfferRefusedError extends InfernetError {
  override readonly name = 'OfferRefusedError';
  constructor(
    code: ErrorCode,
    message: string,
    /** For model_unavailable: the model the spec named. */
    readonly missingModel?: JobSpec['model'],
  ) {
    super(code, message);
  }
}

export class ProviderService {
  private readonly running = new Map<string, RunningJob>();
  /** Job ids of the offers admitted and not yet finished, from the admission checks to the end of the run. */
  private readonly claimed = new Set<string>();

  constructor(private readonly options: ProviderServiceOptions) {}

  get load(): { activeJobs: number; slots: number } {
    return { activeJobs: this.running.size, slots: this.slots };
  }

  /** Slots offered to aggregators: none while jobs are refused. */
  get slots(): number {
    return this.options.engine ? this.options.slots : 0;
  }

  get engineId(): string | undefined {
    return this.options.engine?.id;
  }

  /** The kinds of job this provider's engine runs, told to aggregators in its capabilities and record. */
  get jobKinds(): JobKind[] {
    return this.options.engine?.embed ? ['generate', 'embed'] : ['generate'];
  }

  /**
   * Serves one aggregator session: its offers and cancels. Every handler settles its own promise: whatever a
   * frame makes fail is logged and answered to the sender, and never reaches the process.
   */
  attach(session: PeerSession): void {
    session.onFrame((frame) => {
      if (frame.type === 'job.offer') this.answering(session, frame.jobId, 'job offer', this.handleOffer(session, frame));
      else if (frame.type === 'invoice.request') this.answering(session, frame.jobId, 'invoice request', this.makeInvoice(session, frame));
      else if (frame.type === 'job.outcome') this.answering(session, frame.jobId, 'job outcome', this.settleVerdict(session, frame));
      else if (frame.type === 'job.cancel') this.cancel(session, frame.jobId, frame.reason ?? 'cancelled by the aggregator');
    });
    session.onClose(() => {
      for (const [jobId, job] of this.running) if (job.session === session) this.cancel(session, jobId, 'aggregator disconnected');
    });
  }

  /** The last word on a frame's handling: a failure nothing else caught is logged and told to the sender as internal. */
  private answering(session: PeerSession, jobId: string, what: string, handling: Promise<void>): void {
    handling.catch((error: unknown) => {
      const message = errorMessageOf(error);
      this.options.logger.error({ jobId, peer: session.peer?.npub, err: message }, `${what} failed`);
      session.send({ type: 'error', code: 'internal', jobId, message: `${what} failed: ${message}`.slice(0, MAX_ERROR_MESSAGE) });
    });
  }

  private async makeInvoice(session: PeerSession, request: FrameOf<'invoice.request'>): Promise<void> {
    const { jobId } = request;
    try {
      if (!this.options.payments) throw new Error('this provider makes no Lightning invoices (payments.lightning)');
      const invoice = await this.options.payments.invoiceFor(jobId, request.maxTokens, request.paymentHash, session.peer?.pubkey ?? '');
      session.send({ type: 'invoice.offer', jobId, ...invoice });
    } catch (error) {
      this.options.logger.warn({ jobId, err: (error as Error).message }, 'no invoice made');
      session.send({ type: 'job.reject', jobId, code: 'payment_missing', message: (error as Error).message.slice(0, MAX_REJECT_MESSAGE) });
    }
  }

  private async settleVerdict(session: PeerSession, outcome: FrameOf<'job.outcome'>): Promise<void> {
    await this.options.payments?.settleVerdict(outcome.jobId, outcome.verdict, session.peer?.pubkey ?? '', outcome.preimage).catch((error: Error) => this.options.logger.error({ jobId: outcome.jobId, err: error.message }, 'cannot settle the job invoice; retried at the next start'));
  }

  /**
   * A provider with a price runs a job only once it sees the payment itself (its hold invoice paid in its own LND,
   * or a deposit to its payout in its own escrow): checked before any model is fetched or loaded.
   */
  private async requirePaid(spec: JobSpec): Promise<void> {
    if (!this.options.payments?.requiresPayment) return;
    try {
      await this.options.payments.requirePaid({ jobId: spec.jobId, maxTokens: spec.sampling.maxTokens, deadlineMs: spec.deadline });
    } catch (error) {
      throw new OfferRefusedError('payment_missing', (error as Error).message);
    }
  }

  private async handleOffer(session: PeerSession, offer: FrameOf<'job.offer'>): Promise<void> {
    const { jobId } = offer;
    const log = this.options.logger.child({ jobId, peer: session.peer?.npub });
    let spec: JobSpec;
    let modelPath: string;
    let engine: InferenceEngine;
    let claimed = false;
    try {
      ({ spec, engine } = this.admit(offer));
      claimed = true;
      await this.refuseKnownJob(jobId);
      await this.requirePaid(spec);
      modelPath = await this.modelPathOf(session, spec);
      // Recorded before it is accepted: a record that cannot be written refuses the offer instead of running unrecorded.
      await this.recordAccepted(jobId, spec, offer, session);
    } catch (error) {
      if (claimed) this.claimed.delete(jobId);
      const code = errorCodeOf(error);
      const message = errorMessageOf(error, MAX_REJECT_MESSAGE);
      log.warn({ code }, `offer refused: ${message}`);
      session.send({ type: 'job.reject', jobId, code, message });
      // A job that will not run here gives the client its money back now, not at the invoice's timeout; but a
      // duplicate offer names a job that is not its own, whose invoice stays as it is.
      if (code !== 'duplicate_job') void this.options.payments?.refundUnrun(jobId).catch((cause: Error) => log.warn({ err: cause.message }, 'cannot cancel the job invoice'));
      return;
    }
    const abort = new AbortController();
    this.running.set(jobId, { session, abort });
    session.send({ type: 'job.accept', jobId });
    log.info({ model: spec.model.name, client: offer.spec.pubkey }, 'job accepted');
    try {
      await this.run(session, offer, { spec, modelPath, engine }, abort.signal, log);
    } finally {
      this.running.delete(jobId);
      this.claimed.delete(jobId);
    }
  }

  /** A job id this provider has a record of, in any state, is never run again: a replayed or reused offer. */
  private async refuseKnownJob(jobId: string): Promise<void> {
    const known = await this.options.store.get(jobId, 'provider');
    if (known) throw new OfferRefusedError('duplicate_job', `job ${jobId} is already known here (${known.state})`);
  }

  private async recordAccepted(jobId: string, spec: JobSpec, offer: FrameOf<'job.offer'>, session: PeerSession): Promise<void> {
    try {
      await this.options.store.create({ jobId, role: 'provider', model: spec.model.name, client: offer.spec.pubkey, aggregator: session.peer?.pubkey, state: 'running', specId: offer.spec.id });
    } catch (error) {
      if (error instanceof DuplicateJobError) throw new OfferRefusedError('duplicate_job', `job ${jobId} is already known here`);
      throw error;
    }
  }

  /** The model's local file: the catalog's, or fetched by its content id (reported as job progress), once paid. */
  private async modelPathOf(session: PeerSession, spec: JobSpec): Promise<string> {
    const held = this.options.catalog.resolve(spec.model);
    if (held) return held.path;
    const { name, cid } = spec.model;
    if (!cid || !this.options.fetchModel) throw new OfferRefusedError('model_unavailable', `this provider does not serve model "${name}"`, spec.model);
    const report = (message: string) => session.send({ type: 'job.progress', jobId: spec.jobId, stage: 'fetching_model', message });
    report(`fetching model ${name} by content id ${cid}`);
    return this.options.fetchModel({ name, cid, maxBytes: this.options.maxModelFetchBytes ?? DEFAULT_MAX_MODEL_FETCH_BYTES }, report);
  }

  /** Every check an offer must pass before a slot is given to it. */
  private admit(offer: FrameOf<'job.offer'>): { spec: JobSpec; engine: InferenceEngine } {
    const engine = this.options.engine;
    if (!engine) throw new OfferRefusedError('sandbox_unavailable', this.options.refusal ?? 'this provider runs no jobs now');
    let spec: JobSpec;
    try {
      spec = openJobSpec(this.options.key, offer.spec, offer.jobId);
    } catch (error) {
      if (error instanceof SignatureMismatchError) throw new OfferRefusedError('bad_signature', error.message);
      if (error instanceof DecryptionFailedError) throw new OfferRefusedError('decryption_failed', error.message);
      throw new OfferRefusedError('invalid_frame', `the job spec is invalid: ${(error as Error).message}`);
    }
    // An aggregator routes embed jobs only to providers that list the kind; this answers one that did not ask.
    if (jobKindOf(spec.input) === 'embed' && !engine.embed) throw new OfferRefusedError('engine_failed', `this provider's engine (${engine.id}) computes no embeddings`);
    // Failover replay: an engine that would start over instead of continuing would stream the client's text twice.
    if (spec.continuation && !engine.continuesGenerations) throw new OfferRefusedError('engine_failed', `this provider's engine (${engine.id}) cannot continue a generation another provider started`);
    if (this.claimed.has(spec.jobId)) throw new OfferRefusedError('duplicate_job', `job ${spec.jobId} is already offered or running here`);
    if (spec.deadline <= Date.now()) throw new OfferRefusedError('deadline_exceeded', 'the job deadline has already passed');
    // A model named by content id is fetched only once the job is paid (modelPathOf); one never to be had is refused now.
    if (!this.options.catalog.resolve(spec.model) && !(spec.model.cid && this.options.fetchModel)) throw new OfferRefusedError('model_unavailable', `this provider does not serve model "${spec.model.name}"`, spec.model);
    if (!fitsPriceCap(this.options.price, spec.priceCap)) throw new OfferRefusedError('price_too_high', 'the provider price is above the job price cap');
    if (this.claimed.size >= this.options.slots) throw new OfferRefusedError('busy', `all ${this.options.slots} slots are busy`);
    // Claimed in the same turn as the checks: a second offer of the id, arriving while this one awaits, is a duplicate.
    this.claimed.add(spec.jobId);
    return { spec, engine };
  }

  private async run(session: PeerSession, offer: FrameOf<'job.offer'>, admitted: { spec: JobSpec; modelPath: string; engine: InferenceEngine }, signal: AbortSignal, log: Logger): Promise<void> {
    const { spec, modelPath, engine } = admitted;
    const { jobId } = spec;
    const client = offer.spec.pubkey;
    const stream = new TokenStream(session, jobId, conversationKeyOf(this.options.key.secretKey, client));
    try {
      const input = spec.input;
      if ('embed' in input) return await this.runEmbedding(session, offer, { spec, input, modelPath, engine }, signal, log);
      // Fingerprints whenever the job may be compared with another run: the provider cannot know whether it will be.
      // Every generation is fingerprinted: the spec carries no verification policy (attack 4), and a provider that
      // fingerprinted only some jobs would tell its engine, and anyone timing it, which ones could be checked.
      const fingerprintTopK = this.options.fingerprintTopK ?? DEFAULT_FINGERPRINT_TOP_K;
      const result = await engine.generate({ modelPath, input, sampling: spec.sampling, signal, jobId, deadlineMs: spec.deadline - Date.now(), onText: (piece) => stream.push(piece), ...(spec.continuation ? { continueFrom: spec.continuation.tokenIds } : {}), fingerprintTopK, ...(spec.logprobs !== undefined ? { logprobsTopK: spec.logprobs } : {}) });
      stream.flush();
      const output = { jobId, output: result.text, tokenIds: result.tokenIds, finishReason: result.finishReason, usage: { promptTokens: result.promptTokens, completionTokens: result.tokenIds.length }, engine: engine.id, timings: { firstTokenMs: result.firstTokenMs, totalMs: result.totalMs }, ...(result.fingerprints ? { fingerprints: result.fingerprints } : {}), ...(result.tokenLogprobs ? { logprobs: result.tokenLogprobs } : {}) };
      if (result.finishReason === 'cancelled') {
        await this.options.store.transition(jobId, 'provider', 'cancelled', { tokens: result.tokenIds.length }, 'cancelled while running');
        log.info({ tokens: result.tokenIds.length }, 'job cancelled');
        return;
      }
      session.send({ type: 'job.result', jobId, result: sealJobResult(this.options.key, client, offer.spec.id, output, spec.model.name) });
      await this.options.store.transition(jobId, 'provider', 'completed', { tokens: result.tokenIds.length });
      log.info({ tokens: result.tokenIds.length, ms: Math.round(result.totalMs) }, 'job completed');
    } catch (error) {
      // Each error names its own wire code (src/errors): an engine's failure, a deadline, anything else internal.
      const code: ErrorCode = errorCodeOf(error);
      log.error({ err: (error as Error).message }, 'job failed');
      session.send({ type: 'error', code, jobId, message: String((error as Error).message).slice(0, MAX_ERROR_MESSAGE) });
      await this.options.store.transition(jobId, 'provider', 'failed', { error: { code, message: (error as Error).message } }).catch(() => undefined);
    }
  }

  /** An embed job: one vector per text, returned in the signed result (nothing streams), hashed as its output. */
  private async runEmbedding(session: PeerSession, offer: FrameOf<'job.offer'>, job: { spec: JobSpec; input: EmbeddingInput; modelPath: string; engine: InferenceEngine }, signal: AbortSignal, log: Logger): Promise<void> {
    const { spec, input, modelPath, engine } = job;
    const { jobId } = spec;
    const result = await engine.embed!({ modelPath, texts: input.embed, signal, jobId, deadlineMs: spec.deadline - Date.now(), maxValues: MAX_EMBEDDING_VALUES }).catch((error: unknown) => {
      if (signal.aborted) return undefined;
      throw error;
    });
    if (!result) {
      await this.options.store.transition(jobId, 'provider', 'cancelled', {}, 'cancelled while running');
      log.info('embedding job cancelled');
      return;
    }
    const output: JobOutput = { jobId, output: '', tokenIds: [], finishReason: 'stop', usage: { promptTokens: result.promptTokens, completionTokens: 0 }, engine: engine.id, timings: { firstTokenMs: result.totalMs, totalMs: result.totalMs }, embeddings: embeddingVectorsOf(result.vectors) };
    session.send({ type: 'job.result', jobId, result: sealJobResult(this.options.key, offer.spec.pubkey, offer.spec.id, output, spec.model.name) });
    await this.options.store.transition(jobId, 'provider', 'completed', { tokens: 0 });
    log.info({ texts: input.embed.length, dimensions: result.dimensions, ms: Math.round(result.totalMs) }, 'embedding job completed');
  }

  private cancel(session: PeerSession, jobId: string, reason: string): void {
    const job = this.running.get(jobId);
    if (!job || job.session !== session) return;
    this.options.logger.info({ jobId, reason }, 'cancelling job');
    job.abort.abort(reason);
  }
}

/** How long later pieces wait to share a frame: short enough to read as live text, long enough that a fast
 * engine sends a few frames per batch of tokens instead of one per token through every hop. */
const TOKEN_FLUSH_INTERVAL_MS = 8;

/**
 * Streams generated text as encrypted job.tokens frames. The first piece goes out at once (first-token
 * latency); later pieces are coalesced for up to TOKEN_FLUSH_INTERVAL_MS.
 */
class TokenStream {
  private seq = 0;
  private text = '';
  private tokenIds: number[] = [];
  private timer?: NodeJS.Timeout;
  private sentAny = false;

  constructor(
    private readonly session: PeerSession,
    private readonly jobId: string,
    private readonly conversationKey: Uint8Array,
  ) {}

  push(piece: GeneratedPiece): void {
    this.text += piece.text;
    this.tokenIds.push(...piece.tokenIds);
    if (this.timer) return;
    if (!this.sentAny) setImmediate(() => this.flush());
    else this.timer = setTimeout(() => this.flush(), TOKEN_FLUSH_INTERVAL_MS);
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.tokenIds.length && !this.text) return;
    const data = seal(JSON.stringify({ text: this.text, tokenIds: this.tokenIds }), this.conversationKey);
    this.text = '';
    this.tokenIds = [];
    this.sentAny = true;
    this.session.send({ type: 'job.tokens', jobId: this.jobId, seq: this.seq++, data });
  }
}
