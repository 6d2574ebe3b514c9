// Payments follow from the job event feed: once a job of the settling role has moved to a finished state, this
// reader hands it to the settlement service. Its cursor is persisted, so a job that finished just before a crash
// is settled at the next start (the ledger makes a second settlement of one job a no-op). Jobs whose release a
// verification outcome decides are left to that outcome (settleOutcomesFrom); failures still refund here.
import type { JobFeedReader } from '../../jobs/job-event-feed.js';
import type { JobRecord, JobRole, SequencedJobEvent } from '../../jobs/job-record.js';
import type { Logger } from '../../log/index.js';
import type { VerificationOutcome } from '../../verification/verification-outcome.js';
import { settlementForJobState } from './settlement-decision.js';
import type { SettlementService } from './settlement-service.js';

export interface SettlementFeedReaderOptions {
  role: JobRole;
  settlement: SettlementService;
  /**
   * A completed job is paid by its verification outcome (unchecked, verified, inconclusive) or refunded by it
   * (failed), not by its completion: the aggregator's escrow (its witness decides), the provider's hold invoices
   * (its aggregator's verdict decides).
   */
  outcomesDecideRelease: boolean;
  logger: Logger;
}

export class SettlementFeedReader implements JobFeedReader {
  readonly start = 'persisted';
  readonly name: string;
  /** Settlements started and not yet finished, so a clean stop can wait for them. */
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(private readonly options: SettlementFeedReaderOptions) {
    this.name = `settlement:${options.role}`;
  }

  /** Settles every verification outcome the subscription delivers; returns its unsubscribe. */
  settleOutcomesFrom(subscribe: (listener: (outcome: VerificationOutcome) => void) => () => void): () => void {
    return subscribe((outcome) => this.track(this.options.settlement.settleOutcome(outcome)));
  }

  wants(event: SequencedJobEvent): boolean {
    return event.role === this.options.role && settlementForJobState(event.to) !== undefined;
  }

  /**
   * Starts the settlement without waiting for it (an escrow transaction may take a block): the ledger records its
   * decision before anything moves, and a decided settlement cut short is carried out by the service's resume.
   */
  handle(event: SequencedJobEvent, job: JobRecord | undefined): void {
    if (!job) return;
    const { settlement, outcomesDecideRelease } = this.options;
    if (event.to === 'completed' && outcomesDecideRelease) this.track(settlement.syncJobState(job.jobId));
    // The job as it is now: one already settled or refunded settles nothing again.
    else this.track(settlement.settleFinishedJob(job));
  }

  /** Waits for settlements under way (their decisions are persisted; an unfinished one resumes at next start). */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
  }

  private track(settling: Promise<unknown>): void {
    const tracked = settling.catch((error: Error) => this.options.logger.error({ err: error.message, name: error.name }, 'settlement failed; a decided one is retried (every minute, and at the next start)'));
    this.inFlight.add(tracked);
    void tracked.finally(() => this.inFlight.delete(tracked));
  }
}
