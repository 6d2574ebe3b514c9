// Settles each job's payment exactly once, crash-safely. The order of writes is the whole design:
//   1. the payment is recorded in the ledger (idempotent: one row per job, role and rail);
//   2. the decision (release or refund) is written before anything moves;
//   3. the rail acts (a transaction, an invoice settled or cancelled);
//   4. the ledger row and the job are marked settled or refunded.
// A process killed anywhere resumes from the ledger: decided rows are carried out, and the rail is asked first
// whether it already did it (the escrow refuses a second settlement anyway), so nothing is paid twice or lost.
import type { JobRecord, JobRole } from '../../jobs/job-record.js';
import type { JobStore } from '../../jobs/job-store.js';
import { IllegalJobTransitionError, isLegalTransition } from '../../jobs/state-machine.js';
import { attemptOfEvents, attemptPaymentId, jobIdOfPayment } from '../../jobs/job-failover.js';
import type { Logger } from '../../log/index.js';
import type { PaymentState } from '../../storage/collections.js';
import type { VerificationOutcome } from '../../verification/verification-outcome.js';
import { FINAL_PAYMENT_STATES, type Payment, type PaymentLedger, type SettlementAction } from '../ledger/payment-ledger.js';
import { jobStateAfter, settlementForJobState, settlementForVerdict } from './settlement-decision.js';
import type { RailSettlement, SettlementRail } from './settlement-rail.js';

/** Finished jobs looked at on resume, newest first: older ones were settled, or refunded by their deadline. */
const RESUME_JOB_SCAN_LIMIT = 500;

export interface SettlementServiceOptions {
  ledger: PaymentLedger;
  rails: readonly SettlementRail[];
  /** The side of the job this node settles as: the aggregator for the escrow, the payee for hold invoices. */
  role: JobRole;
  /** When given, a settled job moves to 'settled' or 'refunded' in it. */
  jobs?: JobStore;
  /** Told of every payment this service made final (for the node's metrics). */
  onFinal?: (payment: Payment) => void;
  logger: Logger;
}

export class SettlementService {
  /** One settlement at a time per job, so two triggers (an outcome and a resume) never race each other. */
  private readonly running = new Map<string, Promise<Payment[]>>();

  constructor(private readonly options: SettlementServiceOptions) {}

  /** Settles a run by its verification verdict: paid unless found wrong. */
  async settleOutcome(outcome: Pick<VerificationOutcome, 'runJobId' | 'verdict' | 'provider'>): Promise<Payment[]> {
    return this.settle(await this.paymentIdOf(outcome.runJobId), settlementForVerdict(outcome.verdict), { counterparty: outcome.provider, verdict: outcome.verdict });
  }

  /**
   * Settles a job by the state it ended in; unfinished jobs (verifying included) settle nothing. A run that left
   * verifying ended in the state its verdict chose, and the verdict is kept in the audit trail.
   */
  async settleFinishedJob(job: JobRecord): Promise<Payment[]> {
    const action = settlementForJobState(job.state);
    if (!action) return [];
    const verdict = job.verification?.verdict;
    return this.settle(await this.paymentIdOf(job.jobId), action, { counterparty: job.provider ?? '', jobState: job.state, ...(verdict ? { verdict } : {}) });
  }

  /**
   * Moves the job to 'settled' or 'refunded' if its payment is already final: for a job whose outcome settled
   * it before the job itself was recorded completed.
   */
  async syncJobState(jobId: string): Promise<Payment[]> {
    const paymentId = await this.paymentIdOf(jobId);
    return this.queued(paymentId, async () => {
      const final: Payment[] = [];
      for (const rail of this.options.rails) {
        const payment = await this.options.ledger.find(paymentId, this.options.role, rail.rail);
        if (payment?.state === 'released' || payment?.state === 'refunded') {
          await this.moveJob(paymentId, payment.state === 'released' ? 'release' : 'refund');
          final.push(payment);
        }
      }
      return final;
    });
  }

  /**
   * The key the job's current attempt is paid under (src/jobs/job-failover.ts): the job id unless the job failed
   * over to another provider, whose deposit is keyed by its attempt. Counted from the job's persisted moves.
   */
  async paymentIdOf(jobId: string): Promise<string> {
    const jobs = this.options.jobs;
    if (!jobs) return jobId;
    const events = await jobs.events(jobId);
    return attemptPaymentId(jobId, attemptOfEvents(events.filter((event) => event.role === this.options.role)));
  }

  /**
   * Refunds the deposit of an attempt whose provider was lost before it finished (failover): it names that
   * provider's payout, so it can never pay the provider that finishes the job. Recorded in the ledger under the
   * attempt's payment key like any settlement.
   */
  refundLostAttempt(paymentId: string, provider: string): Promise<Payment[]> {
    return this.settle(paymentId, 'refund', { counterparty: provider, reason: 'the provider was lost before it finished; the job failed over' });
  }

  /** Records, decides and carries out the settlement of a payment (a job's, or one attempt's) on every rail that holds money for it. */
  settle(jobId: string, action: SettlementAction, context: { counterparty?: string } & Record<string, unknown> = {}): Promise<Payment[]> {
    return this.queued(jobId, () => this.settleNow(jobId, action, context));
  }

  private queued(jobId: string, work: () => Promise<Payment[]>): Promise<Payment[]> {
    const previous = this.running.get(jobId) ?? Promise.resolve([]);
    const next = previous.catch(() => []).then(work);
    this.running.set(jobId, next);
    void next.finally(() => {
      if (this.running.get(jobId) === next) this.running.delete(jobId);
    }).catch(() => undefined);
    return next;
  }

  /**
   * After a restart: carries out every decision the ledger holds, then settles finished jobs that hold money
   * but were never decided (the process died between the job's end and step 2).
   */
  async resume(): Promise<Payment[]> {
    const done = await this.retryUndone();
    const jobs = this.options.jobs;
    if (jobs) {
      const finished = await jobs.list({ role: this.options.role, states: ['completed', 'failed', 'cancelled'], limit: RESUME_JOB_SCAN_LIMIT });
      for (const job of finished) done.push(...(await this.settleFinishedJob(job)));
    }
    return done;
  }

  /** Carries out decided settlements that failed (an RPC outage, a transaction stuck in the mempool). */
  async retryUndone(): Promise<Payment[]> {
    const done: Payment[] = [];
    for (const payment of await this.options.ledger.undone()) done.push(...(await this.settle(payment.jobId, payment.decision!)));
    return done;
  }

  private async settleNow(jobId: string, action: SettlementAction, context: Record<string, unknown>): Promise<Payment[]> {
    const settled: Payment[] = [];
    for (const rail of this.options.rails) {
      const payment = await this.recorded(jobId, rail, context);
      if (!payment) continue;
      if (FINAL_PAYMENT_STATES.includes(payment.state)) {
        // Settled earlier; the job may not have been finished then (an outcome can precede 'completed').
        if (payment.state === 'released' || payment.state === 'refunded') await this.moveJob(jobId, payment.state === 'released' ? 'release' : 'refund');
        settled.push(payment);
        continue;
      }
      const decided = await this.options.ledger.decide(payment, action);
      settled.push(await this.carryOut(decided, rail));
    }
    return settled;
  }

  /** The ledger row for this job on this rail, recorded now if the rail holds money for it. */
  private async recorded(jobId: string, rail: SettlementRail, context: Record<string, unknown>): Promise<Payment | undefined> {
    const existing = await this.options.ledger.find(jobId, this.options.role, rail.rail);
    if (existing) return existing;
    const held = await rail.inspect(jobId);
    if (held.status === 'none') return undefined;
    const { counterparty: given, ...trigger } = context;
    const counterparty = typeof given === 'string' ? given : '';
    return this.options.ledger.record({
      jobId,
      role: this.options.role,
      direction: 'incoming',
      rail: rail.rail,
      amount: held.amount,
      unit: held.unit,
      state: 'held',
      counterparty,
      // What decided it (a verification verdict, or the state the job ended in), for the audit trail.
      details: { ...held.details, ...trigger },
    });
  }

  private async carryOut(payment: Payment, rail: SettlementRail): Promise<Payment> {
    const action = payment.decision!;
    const log = this.options.logger.child({ jobId: payment.jobId, rail: rail.rail, action });
    const before = await rail.inspect(payment.jobId);
    let outcome: RailSettlement | undefined;
    let state: PaymentState;
    if (before.status === 'held') {
      try {
        outcome = action === 'release' ? await rail.release(payment.jobId) : await rail.refund(payment.jobId);
        // The rail's word on what happened (a refund already pending may have beaten our release).
        const after = await rail.inspect(payment.jobId);
        state = after.status === 'released' || after.status === 'refunded' ? after.status : action === 'release' ? 'released' : 'refunded';
      } catch (error) {
        // Settled meanwhile (a transaction sent before a crash got mined, the client refunded after the
        // deadline): the rail's word stands. Still held: leave the decision for the next attempt.
        const after = await rail.inspect(payment.jobId);
        if ((after.status === 'held' || after.status === 'none') && rail.isPermanentFailure?.(error)) {
          // Retrying cannot help (past the escrow's deadline only the client may refund): give it up, loudly.
          log.error({ err: (error as Error).message }, 'settlement given up');
          state = 'failed';
          outcome = { reference: '', details: { reason: (error as Error).message } };
        } else {
          if (after.status === 'held' || after.status === 'none') throw error;
          state = after.status;
          outcome = await rail.settledBy?.(payment.jobId);
        }
      }
    } else if (before.status === 'none') {
      state = 'failed';
      outcome = { reference: '', details: { reason: 'the rail holds nothing for this job any more' } };
    } else {
      state = before.status;
      outcome = await rail.settledBy?.(payment.jobId);
    }
    if (state !== (action === 'release' ? 'released' : 'refunded')) log.warn({ state }, 'the rail settled the job otherwise than decided');
    const updated = await this.options.ledger.updateState(payment, state, { reference: outcome?.reference ?? '', details: outcome?.details ?? {} });
    log.info({ state, reference: updated.reference }, 'payment settled');
    this.options.onFinal?.(updated);
    if (state === 'released' || state === 'refunded') await this.moveJob(payment.jobId, state === 'released' ? 'release' : 'refund');
    return updated;
  }

  /** `paymentId` names the payment settled; the job moves only when it is its current attempt's. */
  private async moveJob(paymentId: string, action: SettlementAction): Promise<void> {
    const jobs = this.options.jobs;
    if (!jobs) return;
    const jobId = jobIdOfPayment(paymentId);
    // A lost attempt's refund says nothing of the job, which went on with another provider.
    if ((await this.paymentIdOf(jobId)) !== paymentId) return;
    const job = await jobs.get(jobId, this.options.role);
    const to = jobStateAfter(action);
    if (!job || !isLegalTransition(job.state, to)) return;
    await jobs.transition(jobId, this.options.role, to, {}, action === 'release' ? 'payment released' : 'payment refunded').catch(async (error: unknown) => {
      // Another settler (a process being replaced) recorded it first.
      if (!(error instanceof IllegalJobTransitionError) || (await jobs.get(jobId, this.options.role))?.state !== to) throw error;
    });
  }
}
