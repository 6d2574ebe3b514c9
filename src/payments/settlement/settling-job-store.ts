// Payments follow from the job state machine: this JobStore passes every call through and, once a job of the
// settling role has moved to a finished state (persisted first), hands it to the settlement service. Jobs
// that verification outcomes decide are left to them (settleOutcomesFrom); failures still refund here.
import type { JobEvent, JobPatch, JobRecord, JobRole, NewJob } from '../../jobs/job-record.js';
import type { JobListFilter, JobStore } from '../../jobs/job-store.js';
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

export class SettlingJobStore implements JobStore {
  /** Settlements started and not yet finished, so a clean stop can wait for them. */
  private readonly inFlight = new Set<Promise<unknown>>();

  /**
   * Set once verification outcomes are wired (settleOutcomesFrom): a completed job is then paid by its outcome
   * (unchecked, verified, inconclusive) or refunded by it (failed), not by its completion.
   */
  private outcomesDecideRelease = false;

  constructor(
    private readonly inner: JobStore,
    private readonly options: SettlingJobStoreOptions,
  ) {}

  /** Settles every verification outcome the subscription delivers; returns its unsubscribe. */
  settleOutcomesFrom(subscribe: (listener: (outcome: VerificationOutcome) => void) => () => void): () => void {
    this.outcomesDecideRelease = true;
    return subscribe((outcome) => this.track(this.options.settlement.settleOutcome(outcome)));
  }

  create(job: NewJob): Promise<JobRecord> {
    return this.inner.create(job);
  }

  async transition(jobId: string, role: JobRole, to: JobState, patch?: JobPatch, reason?: string): Promise<JobRecord> {
    const record = await this.inner.transition(jobId, role, to, patch, reason);
    if (role !== this.options.role) return record;
    if (to === 'completed' && this.outcomesDecideRelease) this.track(this.options.settlement.syncJobState(jobId));
    else if (settlementForJobState(to)) this.track(this.options.settlement.settleFinishedJob(record));
    return record;
  }

  update(jobId: string, role: JobRole, patch: JobPatch): Promise<JobRecord> {
    return this.inner.update(jobId, role, patch);
  }

  get(jobId: string, role: JobRole): Promise<JobRecord | undefined> {
    return this.inner.get(jobId, role);
  }

  list(filter?: JobListFilter): Promise<JobRecord[]> {
    return this.inner.list(filter);
  }

  events(jobId: string): Promise<JobEvent[]> {
    return this.inner.events(jobId);
  }

  /** Waits for settlements under way (their decisions are persisted; an unfinished one resumes at next start). */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
  }

  async close(): Promise<void> {
    await this.drain();
    await this.inner.close();
  }

  private track(settling: Promise<unknown>): void {
    const tracked = settling.catch((error: Error) => this.options.logger.error({ err: error.message, name: error.name }, 'settlement failed; a decided one is retried (every minute, and at the next start)'));
    this.inFlight.add(tracked);
    void tracked.finally(() => this.inFlight.delete(tracked));
  }
}
