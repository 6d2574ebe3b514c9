// Reputation follows from the job event feed: when an aggregator's run is settled by its verdict (out of
// verifying, or completed unchecked under policy none), the outcome read from its record is rated. A persisted
// reader: a rating due when the node stopped is made at its next start. A run rated twice (its event handled
// again after a crash) counts once: scores keep the newest rating per rater, provider and job.
import type { JobFeedReader, JobRecord, SequencedJobEvent } from '../jobs/index.js';
import { outcomeOfSettledRun } from '../verification/pending-verification.js';
import type { VerificationOutcome } from '../verification/verification-outcome.js';

export class ReputationFeedReader implements JobFeedReader {
  readonly name = 'reputation';
  readonly start = 'persisted';

  /** `rate` records the outcome (and resolves once it is kept). */
  constructor(private readonly rate: (outcome: VerificationOutcome) => Promise<void>) {}

  wants(event: SequencedJobEvent): boolean {
    return event.role === 'aggregator' && (event.from === 'verifying' || event.from === 'running') && (event.to === 'completed' || event.to === 'failed');
  }

  async handle(_event: SequencedJobEvent, job: JobRecord | undefined): Promise<void> {
    const outcome = job && outcomeOfSettledRun(job);
    if (outcome) await this.rate(outcome);
  }
}
