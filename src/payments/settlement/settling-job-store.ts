// Payments follow from the job state machine: this JobStore passes every call through and, once a job of the
// settling role has moved to a finished state (persisted first), hands it to the settlement service. Jobs
// that verification outcomes decide are left to them (settleOutcomesFrom); failures still refund here.
import { ForwardingJobStore } from '../../jobs/forwarding-job-store.js';
import type { JobPatch, JobRecord, JobRole } from '../../jobs/job-record.js';
import type { JobStore } from '../../jobs/job-store.js';
import type { JobState } from '../../jobs/state-machine.js';
import type { Logger } from '../../log/index.js';
import type { VerificationOutcome } from '../../verification/verification-outcome.js';
import { settlementForJobState } from './settlement-decision.js';
import type { SettlementService } from './settlement-service.js';

export interface SettlingJobStoreOptions {
  role: JobRole;
  settlement: SettlementService;
  logger: Logger;
}

export class SettlingJobStore extends ForwardingJobStore {
  /** Settlements started and not yet finished, so a clean stop can wait for them. */
  private readonly inFlight = new Set<Promise<unknown>>();

  /**
   * Set once verification outcomes are wired (settleOutcomesFrom): a completed job is then paid by its outcome
   * (unchecked, verified, inconclusive) or refunded by it (failed), not by its completion.
   */
  private outcomesDecideRelease = false;

  constructor(
    inner: JobStore,
    private readonly options: SettlingJobStoreOptions,
  ) {
    super(inner);
  }

  /** Settles every verification outcome the subscription delivers; returns its unsubscribe. */
  settleOutcomesFrom(subscribe: (listener: (outcome: VerificationOutcome) => void) => () => void): () => void {
    this.outcomesDecideRelease = true;
    return subscribe((outcome) => this.track(this.options.settlement.settleOutcome(outcome)));
  }

  override async transition(jobId: string, role: JobRole, to: JobState, patch?: JobPatch, reason?: string): Promise<JobRecord> {
    const record = await this.inner.transition(jobId, role, to, patch, reason);
    if (role !== this.options.role) return record;
    if (to === 'completed' && this.outcomesDecideRelease) this.track(this.options.settlement.syncJobState(jobId));
    else if (settlementForJobState(to)) this.track(this.options.settlement.settleFinishedJob(record));
    return record;
  }

  /** Waits for settlements under way (their decisions are persisted; an unfinished one resumes at next start). */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
  }

  override async close(): Promise<void> {
    await this.drain();
    await this.inner.close();
  }

  private track(settling: Promise<unknown>): void {
    const tracked = settling.catch((error: Error) => this.options.logger.error({ err: error.message, name: error.name }, 'settlement failed; a decided one is retried (every minute, and at the next start)'));
    this.inFlight.add(tracked);
    void tracked.finally(() => this.inFlight.delete(tracked));
  }
}
