// The aggregator role: matches client jobs to connected providers and relays the job's frames between them.
// It sees the signed envelopes but not their encrypted content, checks signatures on the way, and enforces
// deadlines and cleanup when either side goes away.
import { errorCodeOf, InfernetError } from '../errors/index.js';
import { SignatureMismatchError, verifyEnvelope } from '../identity/index.js';
import { attemptPaymentId, forwardPath, nextAttempt, noProviderLeft, rematchPath, type JobPatch, type JobState, type JobStore, type LostAttempt } from '../jobs/index.js';
import type { Logger } from '../log/index.js';
import type { HeldInvoice } from '../jobs/job-record.js';
import type { NodeKey } from '../identity/index.js';
import { openHoldSecret, paymentHashOf, runPreimageOf, HoldSecretInvalidError } from '../payments/lightning/run-preimage.js';
import { outcomeFrameOf, untoldOutcomeOf, UNTOLD_SCAN_LIMIT, WaitingOutcomes, type OutcomeFrame } from '../payments/lightning/held-invoice-outcomes.js';
import { EVENT_KIND_JOB_SPEC, type ErrorCode, type Frame, type FrameOf, type ModelOffer, type NostrEvent, type PaymentTerms, type Price, type VerificationPolicy } from '../protocol/index.js';
import { signPayoutStatement } from '../payments/terms/payout-statement.js';
import type { AggregatorPaymentTerms } from '../payments/terms/aggregator-terms.js';
import { chooseRail } from '../payments/terms/payment-terms.js';
import { VerdictRejectedError, type VerdictWitness } from '../verification/verdict-witness.js';
import type { PeerSession } from '../transport/index.js';
import { verifyJobResult } from '../jobs/job-envelopes.js';
import { cryptoRandom } from '../verification/seeded-random.js';
import { uncheckedVerificationOf } from '../verification/pending-verification.js';
import { CheckedJobs } from './checked-jobs.js';
import { drawProvider, rankProviders } from './provider-selection.js';
import { mergeModelOffers } from './model-offers.js';

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
  /** How long a match waits for the client's offer before it is given up (config aggregator.offerWaitSeconds). */
  offerWaitMs?: number;
  /** Payment terms offered at match time and deposits checked before dispatch (src/payments); absent: every job is free. */
  payments?: AggregatorPaymentTerms;
  /** This node's key: opens the hold secret a client seals to it (Lightning preimages, src/payments/lightning/run-preimage.ts). */
  key?: NodeKey;
}

/** How long a match waits for its offer unless configured (aggregator.offerWaitSeconds). */
const DEFAULT_OFFER_WAIT_MS = 120_000;
/** How long a provider has to answer invoice.request with its hold invoice. */
const INVOICE_WAIT_MS = 15_000;
/** Runs paid by hold invoice kept in memory until their verdict (bounded: oldest dropped; runs under a policy are also persisted). */
const MAX_INVOICED_RUNS = 10_000;

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
  /** The terms the client was asked to pay before its offer is dispatched. */
  payment?: PaymentTerms;
  /** A run paid by hold invoice: its provider and the preimage the verdict reveals, or withholds. */
  held?: HeldInvoice;
  /** What the client asked: matched again, without the lost providers, when its provider is lost (failover). */
  request: FrameOf<'job.request'>;
  /** 1 for the first provider, one more per failover (src/jobs/job-failover.ts). */
  attempt: number;
  /** The providers lost so far, and why. */
  lost: LostAttempt[];
  /** A check (job.request.checkOf): its provider is drawn at random, failovers included. */
  drawn: boolean;
}

const PROVIDER_FRAMES = new Set<Frame['type']>(['job.accept', 'job.reject', 'job.progress', 'job.tokens', 'job.result', 'error']);

/** Why a match cannot be paid: refused to the client with this code. */
class MatchPaymentError extends InfernetError {
  override readonly name = 'MatchPaymentError';
}

export class AggregatorService {
  private readonly providers = new Set<PeerSession>();
  private readonly jobs = new Map<string, RoutedJob>();
  /** Matches still being made, by job id: a cancel that comes meanwhile is kept here, and the match is dropped. */
  private readonly matching = new Map<string, { client: PeerSession; cancelled: boolean }>();
  /** Jobs under a verification policy and their checks, whose providers this aggregator draws. */
  private readonly checkedJobs: CheckedJobs;
  /** The statement of this aggregator's own EVM address that escrow matches carry. */
  private signedAddress?: { address: string; statement: NostrEvent };
  private lookups: Promise<unknown> = Promise.resolve();
  /** Jobs whose hold invoice is being asked of their provider: its frames about them are not the routed job's yet. */
  private readonly invoicing = new Set<string>();
  /**
   * Runs paid by hold invoice and what their provider is told with the verdict (job.outcome), from dispatch to the
   * verdict. A run that waits for its verdict also keeps it in its record (verification.holdInvoice), read back
   * when this map lost it to a restart.
   */
  private readonly invoicedRuns = new Map<string, HeldInvoice>();
  /** Verdicts whose provider was away: sent when it connects again. */
  private readonly waitingOutcomes = new WaitingOutcomes();

  constructor(private readonly options: AggregatorServiceOptions) {
    this.checkedJobs = new CheckedJobs(options.store);
    options.witness?.onVerification((outcome) => void this.tellProviderVerdict(outcome.runJobId, outcome.verdict).catch((error: Error) => options.logger.error({ jobId: outcome.runJobId, err: error.message }, 'cannot tell the provider its verdict')));
    void this.resumeUntoldOutcomes().catch((error: Error) => options.logger.error({ err: error.message }, 'cannot read the verdicts not yet told to providers'));
  }

  get providerCount(): number {
    return this.providers.size;
  }

  /** Every model some connected provider serves now. */
  availableModels(): string[] {
    return this.modelOffers().map((offer) => offer.name);
  }

  /** The connected providers' models, each once, with the file size and sha256 they all report (model-offers.ts). */
  modelOffers(): ModelOffer[] {
    return mergeModelOffers([...this.providers].map((session) => session.peer?.capabilities?.models ?? []));
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
    for (const frame of this.waitingOutcomes.takeFor(session.peer.pubkey)) void this.sendOutcome(session, frame);
    session.onClose(() => {
      this.providers.delete(session);
      for (const job of this.jobsOf(session, 'provider')) {
        void this.failOver(job, 'provider_unreachable', 'the provider disconnected before the job finished').catch((error: Error) => this.options.logger.error({ jobId: job.jobId, err: error.message }, 'cannot fail the job over'));
      }
    });
  }

  addClient(session: PeerSession): void {
    session.onFrame((frame) => this.fromClient(session, frame));
    session.onClose(() => {
      for (const job of this.jobsOf(session, 'client')) this.cancel(job, 'the client disconnected');
    });
  }

  private fromClient(client: PeerSession, frame: Frame): void {
    if (frame.type === 'job.request') void this.match(client, frame).catch(this.handlingFailed(client, frame.jobId, 'job request'));
    else if (frame.type === 'job.offer') void this.dispatch(client, frame).catch(this.handlingFailed(client, frame.jobId, 'job offer'));
    else if (frame.type === 'job.verdict') void this.takeVerdict(client, frame).catch((error: Error) => this.options.logger.error({ jobId: frame.jobId, err: error.message }, 'cannot take the verdict'));
    else if (frame.type === 'models.request') client.send({ type: 'models.list', models: this.modelOffers() });
    else if (frame.type === 'job.cancel') {
      const job = this.jobs.get(frame.jobId);
      const pending = this.matching.get(frame.jobId);
      if (job?.client === client) this.cancel(job, frame.reason ?? 'cancelled by the client');
      else if (pending?.client === client) pending.cancelled = true;
      else client.sendError('job_not_found', `no job ${frame.jobId} of yours here`, frame.jobId);
    }
  }

  /** A frame whose handling failed unexpectedly: logged, and told to its sender as internal (never the process's end). */
  private handlingFailed(sender: PeerSession, jobId: string, what: string): (error: unknown) => void {
    return (error) => {
      const message = error instanceof Error ? error.message : String(error);
      this.options.logger.error({ jobId, peer: sender.peer?.npub, err: message }, `${what} failed`);
      sender.sendError('internal', `${what} failed: ${message}`, jobId);
    };
  }

  /**
   * Matching awaits the store and payment terms: a cancel from the client in the meantime finds no job yet, so it is
   * kept with the match being made, which then takes no slot. A second request with an id already being matched is
   * refused as a duplicate further on.
   */
  private async match(client: PeerSession, request: FrameOf<'job.request'>): Promise<void> {
    const { jobId } = request;
    if (this.matching.has(jobId)) return this.matchNow(client, request);
    const pending = { client, cancelled: false };
    this.matching.set(jobId, pending);
    try {
      await this.matchNow(client, request, pending);
    } finally {
      this.matching.delete(jobId);
    }
  }

  private async matchNow(client: PeerSession, request: FrameOf<'job.request'>, pending?: { cancelled: boolean }): Promise<void> {
    const { jobId } = request;
    const log = this.options.logger.child({ jobId, peer: client.peer?.npub });
    if (this.jobs.has(jobId)) return void client.send({ type: 'job.reject', jobId, code: 'duplicate_job', message: `job ${jobId} already exists` });
    // A job id relayed here before, in any state (a replayed request, or another client's id), is refused now,
    // before any provider or payment is involved.
    const known = await this.inArrivalOrder(() => this.options.store.get(jobId, 'aggregator'));
    if (known) return void client.send({ type: 'job.reject', jobId, code: 'duplicate_job', message: `job ${jobId} was already relayed here (${known.state})` });
    if (request.deadline <= Date.now()) return void client.send({ type: 'job.reject', jobId, code: 'deadline_exceeded', message: 'the deadline has already passed' });
    const refusal = await this.options.admitJob?.(client.peer?.pubkey ?? '', request);
    if (refusal) return void client.send({ type: 'job.reject', jobId, ...refusal });
    const clientKey = client.peer?.pubkey ?? '';
    let exclude = request.exclude ?? [];
    if (request.checkOf) {
      const admission = await this.checkedJobs.admitCheck(clientKey, request);
      if (!admission.admitted) return void client.send({ type: 'job.reject', jobId, code: admission.code, message: admission.message });
      exclude = admission.exclude;
    }
    const drawn = request.checkOf !== undefined;
    const best = await this.chooseProvider(request, exclude, log, drawn);
    if (!best) return void client.send({ type: 'job.reject', jobId, code: 'no_provider', message: `no connected provider ${request.kind === 'embed' ? 'computes embeddings with' : 'serves'} "${request.model.name}" with a free slot` });
    const provider = best.session;
    let payment: PaymentTerms | undefined;
    let held: HeldInvoice | undefined;
    let aggregatorStatement: NostrEvent | undefined;
    try {
      ({ payment, held, aggregatorStatement } = await this.paymentTerms(request, provider, best.capabilities, 1, client.peer?.pubkey ?? ''));
    } catch (error) {
      const code = errorCodeOf(error);
      log.warn({ code, err: (error as Error).message }, 'match not payable');
      return void client.send({ type: 'job.reject', jobId, code, message: (error as Error).message });
    }
    if (this.jobs.has(jobId)) return void client.send({ type: 'job.reject', jobId, code: 'duplicate_job', message: `job ${jobId} already exists` });
    // The client left, or cancelled, while its match was made: nothing to keep a slot for.
    if (!client.isOpen) return;
    if (pending?.cancelled) return void client.send({ type: 'error', code: 'cancelled', jobId, message: 'cancelled by the client before its match was made' });
    const deadlineTimer = setTimeout(() => this.expire(jobId), Math.min(request.deadline - Date.now(), 2 ** 31 - 1));
    this.jobs.set(jobId, { jobId, client, provider, deadlineTimer, state: 'matched', model: request.model.name, verification: request.verification ?? { kind: 'none' }, ...(best.capabilities.price ? { price: best.capabilities.price } : {}), ...(payment ? { payment } : {}), ...(held ? { held } : {}), request, attempt: 1, lost: [], drawn });
    await this.record(jobId, { jobId, role: 'aggregator', model: request.model.name, client: client.peer?.pubkey, provider: best.id, state: 'matched' });
    // Persisted before the client hears of the match, so its checks are judged by it even after a restart.
    // A store that cannot keep them costs the job its checks (refused as unknown), never its run.
    await (request.checkOf ? this.checkedJobs.addProvider(request, best.id) : this.checkedJobs.open(jobId, clientKey, request, best.id)).catch((error: Error) => log.error({ err: error.message }, "cannot record the job's checks"));
    client.send({ type: 'job.match', jobId, provider: best.id, ...(best.capabilities.price ? { price: best.capabilities.price } : {}), ...(payment ? { payment } : {}), ...(best.capabilities.payoutStatement ? { payoutStatement: best.capabilities.payoutStatement } : {}), ...(aggregatorStatement ? { aggregatorStatement } : {}) });
    log.info({ provider: provider.peer?.npub, model: request.model.name }, 'job matched');
    this.awaitOffer(jobId);
  }

  /**
   * Store look-ups answered in the order the requests came: two requests for one free slot are then matched in
   * the order they arrived, as before the look-up (an HTTP round trip to PocketBase) could reorder them.
   */
  private inArrivalOrder<T>(lookUp: () => Promise<T>): Promise<T> {
    const answer = this.lookups.then(lookUp);
    this.lookups = answer.catch(() => undefined);
    return answer;
  }

  /** A first match not offered in time is failed, freeing its provider's slot. */
  private awaitOffer(jobId: string): void {
    const waitMs = this.options.offerWaitMs ?? DEFAULT_OFFER_WAIT_MS;
    setTimeout(() => {
      const job = this.jobs.get(jobId);
      if (job?.state === 'matched' && job.attempt === 1) this.fail(job, 'deadline_exceeded', `no offer came within ${Math.round(waitMs / 1000)} s of the match`);
    }, waitMs).unref();
  }

  /**
   * The provider for the request outside `exclude` (looked for through discovery if none): the best ranked, or with
   * `drawn` one drawn at random among those that can take it (see drawProvider).
   */
  private async chooseProvider(request: FrameOf<'job.request'>, exclude: readonly string[], log: Logger, drawn: boolean) {
    // A batch coordinator names the provider of its shard (src/batch): only that one may be matched.
    const named = (candidate: { id: string }) => (!request.provider || candidate.id === request.provider) && !exclude.includes(candidate.id);
    const pick = (ranked: ReturnType<typeof rankProviders>) => (drawn ? drawProvider(ranked, cryptoRandom) : ranked[0]);
    let candidates = this.candidates().filter(named);
    let best = pick(rankProviders(candidates, request));
    if (!best && this.options.discoverProviders && !request.provider) {
      await this.options.discoverProviders(request.model.name).catch((error: Error) => log.warn({ err: error.message }, 'provider lookup failed'));
      candidates = this.candidates().filter(named);
      best = pick(rankProviders(candidates, request));
    }
    if (!best) log.warn({ model: request.model.name, providers: candidates.length }, 'no provider for job');
    return best && candidates.find((candidate) => candidate.id === best.id);
  }

  /**
   * A provider lost before it finished the job (its connection closed: killed, or heartbeats missed) or that
   * rejected the offer: the job is matched again to another provider of the model, leaving out every lost one,
   * and the client replays what it received to the new provider (job.match with attempt and lost). Each move is
   * persisted with its reason; after MAX_JOB_ATTEMPTS, or with no provider left, the job fails naming each loss.
   */
  private async failOver(job: RoutedJob, code: ErrorCode, message: string): Promise<void> {
    const log = this.options.logger.child({ jobId: job.jobId });
    const lostProvider = job.provider.peer!.pubkey;
    const loss: LostAttempt = { provider: lostProvider, code, message };
    job.lost.push(loss);
    const path = rematchPath(job.state);
    const decision = path ? nextAttempt({ attempt: job.attempt, lost: job.lost, exclude: job.drawn ? [] : (job.request.exclude ?? []) }) : ({ kind: 'fail', code, message } as const);
    this.refundLostAttempt(job, lostProvider);
    if (decision.kind === 'fail' || !path) return this.fail(job, decision.kind === 'fail' ? (decision.code as ErrorCode) : code, decision.kind === 'fail' ? decision.message : message);
    const reason = `attempt ${job.attempt} lost: provider ${lostProvider} (${code}: ${message})`;
    log.warn({ provider: lostProvider, attempt: job.attempt, code }, 'provider lost; failing over');
    for (const state of path.slice(0, -1)) await this.move(job, state, {}, reason);
    // Never to a provider that already runs the job or one of its checks (two runs by one provider check nothing); a
    // check is drawn again.
    const exclude = [...new Set([...decision.exclude, ...(await this.checkedJobs.providersOf(job.request))])];
    const best = this.jobs.get(job.jobId) === job ? await this.chooseProvider(job.request, exclude, log, job.drawn) : undefined;
    if (this.jobs.get(job.jobId) !== job) return; // cancelled or expired meanwhile
    if (!best) {
      const failure = noProviderLeft(job.lost);
      return this.fail(job, failure.code as ErrorCode, failure.message);
    }
    let payment: PaymentTerms | undefined;
    let held: HeldInvoice | undefined;
    let aggregatorStatement: NostrEvent | undefined;
    try {
      ({ payment, held, aggregatorStatement } = await this.paymentTerms(job.request, best.session, best.capabilities, decision.attempt, job.client.peer?.pubkey ?? ''));
    } catch (error) {
      if (this.jobs.get(job.jobId) !== job) return;
      return this.fail(job, errorCodeOf(error), `the job's provider was lost and its replacement cannot be paid: ${(error as Error).message}`);
    }
    if (this.jobs.get(job.jobId) !== job) return;
    job.provider = best.session;
    job.attempt = decision.attempt;
    await this.checkedJobs.addProvider(job.request, best.id).catch((error: Error) => log.error({ err: error.message }, "cannot record the job's checks"));
    if (best.capabilities.price) job.price = best.capabilities.price;
    else delete job.price;
    if (payment) job.payment = payment;
    else delete job.payment;
    if (held) job.held = held;
    else delete job.held;
    await this.move(job, 'matched', { provider: best.id }, `attempt ${decision.attempt}: matched provider ${best.id} after ${reason}`);
    job.client.send({ type: 'job.match', jobId: job.jobId, provider: best.id, ...(job.price ? { price: job.price } : {}), ...(payment ? { payment } : {}), ...(best.capabilities.payoutStatement ? { payoutStatement: best.capabilities.payoutStatement } : {}), ...(aggregatorStatement ? { aggregatorStatement } : {}), attempt: decision.attempt, lost: { provider: lostProvider, code, message: message.slice(0, 1024) } });
    log.info({ provider: best.session.peer?.npub, attempt: decision.attempt }, 'job matched again');
  }

  /** The lost attempt's escrow deposit names the lost provider's payout: it goes back to the client, unpaid. */
  private refundLostAttempt(job: RoutedJob, provider: string): void {
    if (job.payment?.rail !== 'evm') return;
    const paymentId = attemptPaymentId(job.jobId, job.attempt);
    void this.options.payments
      ?.refundLostAttempt?.(paymentId, provider)
      .catch((error: Error) => this.options.logger.error({ jobId: job.jobId, paymentId, err: error.message }, 'cannot refund the lost attempt; the client can refund it after its deadline'));
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
    const unpaid = await this.paymentProblem(job);
    if (this.jobs.get(job.jobId) !== job || job.state !== 'matched') return; // failed over or ended while the deposit was read
    if (unpaid) {
      this.options.logger.warn({ jobId: job.jobId, reason: unpaid }, 'offer refused: not paid');
      client.send({ type: 'job.reject', jobId: job.jobId, code: 'payment_missing', message: unpaid });
      return this.finish(job, 'failed', { code: 'payment_missing', message: unpaid });
    }
    await this.move(job, 'dispatched');
    if (job.held) this.rememberInvoicedRun(job.jobId, job.held);
    job.provider.send(offer);
  }

  /**
   * The terms a match is paid on (see chooseRail): escrow terms naming the provider's payout address, or the hold
   * invoice the provider makes for the job now, on the hash of a preimage derived from the client's hold secret
   * (the provider cannot settle it before a verdict that pays). No terms when the job is free here.
   */
  private async paymentTerms(request: FrameOf<'job.request'>, provider: PeerSession, capabilities: { price?: Price; payout?: { evm?: string; lightning?: boolean } }, attempt: number, client: string): Promise<{ payment?: PaymentTerms; held?: HeldInvoice; aggregatorStatement?: NostrEvent }> {
    const payments = this.options.payments;
    if (!payments) return {};
    const choice = chooseRail({ aggregatorRails: payments.rails, clientRails: request.payment?.rails ?? [], ...(capabilities.price ? { price: capabilities.price } : {}), ...(capabilities.payout ? { payout: capabilities.payout } : {}) });
    if (choice.kind === 'free') return {};
    if (choice.kind === 'refuse') throw new MatchPaymentError('payment_required', `this aggregator takes payment for the provider's work: ${choice.reason}`);
    if (choice.rail === 'evm') {
      const terms = await payments.evmTerms({ jobId: attemptPaymentId(request.jobId, attempt), price: capabilities.price!, maxTokens: request.maxTokens, providerPayout: capabilities.payout!.evm!, jobDeadlineMs: request.deadline });
      return { payment: terms, ...(this.options.key ? { aggregatorStatement: this.ownStatement(terms.aggregator) } : {}) };
    }
    const preimage = runPreimageOf(this.holdSecretOf(request, client), attemptPaymentId(request.jobId, attempt));
    const paymentHash = paymentHashOf(preimage);
    const invoice = await this.askInvoice(provider, request, paymentHash);
    if (invoice.paymentHash !== paymentHash) throw new MatchPaymentError('payment_missing', 'the provider made its hold invoice on another payment hash than the one given: it could settle it at will');
    return { payment: { rail: 'lightning', paymentRequest: invoice.paymentRequest, paymentHash, amountSat: invoice.amountSat }, held: { provider: provider.peer!.pubkey, paymentHash, preimage } };
  }

  /** This aggregator's EVM address signed with its node key (kind 30953), signed once per address. */
  private ownStatement(address: string): NostrEvent {
    if (this.signedAddress?.address !== address) this.signedAddress = { address, statement: signPayoutStatement(this.options.key!, { evm: address }) };
    return this.signedAddress.statement;
  }

  /** The client's hold secret, opened; a client that sends none (an older one) is refused rather than paid on a provider's preimage. */
  private holdSecretOf(request: FrameOf<'job.request'>, client: string): string {
    const sealed = request.payment?.holdSecret;
    if (!sealed || !this.options.key) throw new MatchPaymentError('payment_required', 'this aggregator takes Lightning payment only on hold invoices whose preimage the client makes: the job request carries no payment.holdSecret (update the client)');
    try {
      return openHoldSecret(sealed, this.options.key.secretKey, client);
    } catch (error) {
      if (error instanceof HoldSecretInvalidError) throw new MatchPaymentError('payment_required', error.message);
      throw error;
    }
  }

  /** invoice.request to the provider, answered by invoice.offer (or a job.reject naming why it makes none). */
  private askInvoice(provider: PeerSession, request: FrameOf<'job.request'>, paymentHash: string): Promise<FrameOf<'invoice.offer'>> {
    const { jobId } = request;
    this.invoicing.add(jobId);
    return new Promise<FrameOf<'invoice.offer'>>((resolve, reject) => {
      const done = (finish: () => void) => {
        clearTimeout(timer);
        stopFrames();
        stopClose();
        this.invoicing.delete(jobId);
        finish();
      };
      const timer = setTimeout(() => done(() => reject(new MatchPaymentError('payment_missing', `the provider made no hold invoice within ${INVOICE_WAIT_MS} ms`))), INVOICE_WAIT_MS);
      const stopFrames = provider.onFrame((frame) => {
        if (!('jobId' in frame) || frame.jobId !== jobId) return;
        if (frame.type === 'invoice.offer') done(() => resolve(frame));
        else if (frame.type === 'job.reject' || frame.type === 'error') done(() => reject(new MatchPaymentError('payment_missing', `the provider made no hold invoice: ${frame.message}`)));
      });
      const stopClose = provider.onClose(() => done(() => reject(new MatchPaymentError('provider_unreachable', 'the provider went away before making its invoice'))));
      provider.send({ type: 'invoice.request', jobId, maxTokens: request.maxTokens, paymentHash });
    });
  }

  /** Why the job cannot be dispatched unpaid; undefined when its deposit matches the terms (or it is free, or the provider checks its own invoice). */
  private async paymentProblem(job: RoutedJob): Promise<string | undefined> {
    if (job.payment?.rail !== 'evm') return undefined;
    return this.options.payments!.depositProblem(attemptPaymentId(job.jobId, job.attempt), job.payment).catch((error: Error) => `the deposit could not be read on chain: ${error.message}`);
  }

  private rememberInvoicedRun(jobId: string, held: HeldInvoice): void {
    this.invoicedRuns.set(jobId, held);
    if (this.invoicedRuns.size > MAX_INVOICED_RUNS) this.invoicedRuns.delete(this.invoicedRuns.keys().next().value!);
  }

  /**
   * A run paid by hold invoice: its provider is told the verdict, with the preimage unless it is failed, now or
   * when it next connects. After a restart the run's record says whom to tell and what.
   */
  private async tellProviderVerdict(runJobId: string, verdict: 'verified' | 'failed' | 'unchecked' | 'inconclusive'): Promise<void> {
    const held = this.invoicedRuns.get(runJobId) ?? (await this.options.store.get(runJobId, 'aggregator'))?.verification?.holdInvoice;
    if (!held || held.told) return;
    this.invoicedRuns.delete(runJobId);
    const frame = outcomeFrameOf(runJobId, verdict, held);
    const provider = [...this.providers].find((session) => session.isOpen && session.peer?.pubkey === held.provider);
    if (provider) await this.sendOutcome(provider, frame);
    else this.waitingOutcomes.add(held.provider, frame);
  }

  /** Sends a verdict to its provider and marks it told in the run's record (when the run has one that keeps it). */
  private async sendOutcome(provider: PeerSession, frame: OutcomeFrame): Promise<void> {
    provider.send(frame);
    const verification = (await this.options.store.get(frame.jobId, 'aggregator'))?.verification;
    if (!verification?.holdInvoice || verification.holdInvoice.told) return;
    await this.options.store.update(frame.jobId, 'aggregator', { verification: { ...verification, holdInvoice: { ...verification.holdInvoice, told: true } } }).catch((error: Error) => this.options.logger.warn({ jobId: frame.jobId, err: error.message }, 'cannot mark the verdict told; it is told again after a restart'));
  }

  /** After a restart: recent runs whose verdict came but whose provider was not told wait for it to connect. */
  private async resumeUntoldOutcomes(): Promise<void> {
    const finished = await this.options.store.list({ role: 'aggregator', states: ['completed', 'failed', 'settled', 'refunded'], limit: UNTOLD_SCAN_LIMIT });
    for (const job of finished) {
      const untold = untoldOutcomeOf(job);
      if (!untold) continue;
      const provider = [...this.providers].find((session) => session.isOpen && session.peer?.pubkey === untold.provider);
      if (provider) await this.sendOutcome(provider, untold.frame);
      else this.waitingOutcomes.add(untold.provider, untold.frame);
    }
  }

  private fromProvider(provider: PeerSession, frame: Frame): void {
    if (!PROVIDER_FRAMES.has(frame.type) || !('jobId' in frame) || !frame.jobId || this.invoicing.has(frame.jobId)) return;
    const job = this.jobs.get(frame.jobId);
    if (!job || job.provider !== provider) return provider.sendError('job_not_found', `no job ${frame.jobId} routed to you`, frame.jobId);
    if (frame.type === 'job.result') return void this.complete(job, frame).catch(this.handlingFailed(provider, frame.jobId, 'job result'));
    // A provider that will not run the offer is replaced like a lost one (src/jobs/job-failover.ts decides).
    if (frame.type === 'job.reject' && job.state === 'dispatched') return void this.failOver(job, frame.code, frame.message).catch(this.handlingFailed(provider, frame.jobId, 'job reject'));
    job.client.send(frame);
    if (frame.type === 'job.accept') void this.move(job, 'running');
    else if (frame.type === 'job.reject' || frame.type === 'error') void this.finish(job, 'failed', { code: frame.code, message: frame.message });
  }

  private async complete(job: RoutedJob, frame: FrameOf<'job.result'>): Promise<void> {
    let summary: ReturnType<typeof verifyJobResult>;
    try {
      summary = verifyJobResult(frame.result, job.provider.peer!.pubkey, job.jobId);
    } catch (error) {
      const message = `the provider's result failed verification: ${(error as Error).message}`;
      this.options.onResultRefused?.('bad_signature');
      job.client.send({ type: 'error', code: 'bad_signature', jobId: job.jobId, message });
      return this.finish(job, 'failed', { code: 'bad_signature', message });
    }
    const run = {
      jobId: job.jobId,
      provider: job.provider.peer!.pubkey,
      client: job.client.peer?.pubkey ?? '',
      model: job.model,
      outputHash: summary.outputHash,
      ...(summary.fingerprintHash ? { fingerprintHash: summary.fingerprintHash } : {}),
      resultEventId: frame.result.id,
      tokens: summary.tokens,
      ...(job.price ? { price: job.price } : {}),
      ...(job.request.checkOf ? { checkOf: job.request.checkOf } : {}),
    };
    // Witnessed before the client sees it: its verdict may follow at once.
    const verifying = this.options.witness?.witness(run, job.verification, job.held ? { holdInvoice: job.held } : {});
    if (verifying) {
      // Persisted before the client sees the result: the run is paid or refunded by its verdict, even after a restart.
      await this.finish(job, 'verifying', undefined, verifying);
      job.client.send(frame);
      return;
    }
    job.client.send(frame);
    // Settled unchecked now; what follows from it (the provider's rating) reads the verdict from the record.
    await this.finish(job, 'completed', undefined, { tokens: summary.tokens, outputHash: summary.outputHash, provider: run.provider, client: run.client, model: run.model, verification: uncheckedVerificationOf(run, Date.now()) });
  }

  private async takeVerdict(client: PeerSession, frame: FrameOf<'job.verdict'>): Promise<void> {
    try {
      await this.options.witness?.verdict(client.peer?.pubkey ?? '', frame, { withdrawn: await this.checkedJobs.withdrawn(frame.jobId) });
    } catch (error) {
      if (!(error instanceof VerdictRejectedError)) throw error;
      this.options.logger.warn({ jobId: frame.jobId, reason: error.message }, 'verification verdict refused');
      client.sendError('invalid_frame', `verdict refused: ${error.message}`, frame.jobId);
    }
  }

  /** The client cancelled the job, or left: a check cancelled before its result stops its job's verdict blaming anyone. */
  private cancel(job: RoutedJob, reason: string): void {
    // Queued before any verdict that follows is read (CheckedJobs keeps one job's reads and writes in order).
    void this.checkedJobs.withdraw(job.request).catch((error: Error) => this.options.logger.error({ jobId: job.jobId, err: error.message }, 'cannot record a withdrawn check'));
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

  /** The end of relaying a job: verifying when its run waits for the client's verdict (src/verification). */
  private async finish(job: RoutedJob, state: 'verifying' | 'completed' | 'failed' | 'cancelled', error?: { code: string; message: string }, patch: JobPatch = {}): Promise<void> {
    clearTimeout(job.deadlineTimer);
    this.jobs.delete(job.jobId);
    await this.move(job, state, { ...patch, ...(error ? { error } : {}) });
    this.options.logger.info({ jobId: job.jobId, state, ...(error ? { code: error.code } : {}) }, 'job finished');
  }

  private async move(job: RoutedJob, to: JobState, patch: object = {}, reason?: string): Promise<void> {
    const from = job.state;
    job.state = to;
    for (const state of forwardPath(from, to)) {
      await this.options.store
        .transition(job.jobId, 'aggregator', state, state === to ? patch : {}, reason)
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
