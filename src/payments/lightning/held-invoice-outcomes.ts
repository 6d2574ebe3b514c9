// The aggregator's side of hold invoices made on the client's hash (attack 7): which job.outcome a provider is
// told for a verdict (the preimage only when the verdict pays), and the outcomes waiting for a provider that is
// not connected when its verdict comes. What must survive a restart is persisted with the run's record
// (JobVerification.holdInvoice, told once sent); this queue is rebuilt from the records at start.
import type { HeldInvoice, JobRecord } from '../../jobs/job-record.js';
import type { FrameOf } from '../../protocol/index.js';

/** job.outcome as a sender builds it (the session adds the version). */
export type OutcomeFrame = Omit<FrameOf<'job.outcome'>, 'v'>;
import type { VerificationVerdict } from '../../verification/verification-outcome.js';

/** Outcomes waiting for their provider at once; beyond it the oldest is dropped (its invoice then times out: refunded). */
export const MAX_WAITING_OUTCOMES = 10_000;
/** How many recent finished runs a restarted aggregator reads to find verdicts not yet told. */
export const UNTOLD_SCAN_LIMIT = 1000;

/** job.outcome for a run paid by hold invoice: the preimage with every verdict but failed, which cancels. */
export function outcomeFrameOf(jobId: string, verdict: VerificationVerdict, held: Pick<HeldInvoice, 'preimage'>): OutcomeFrame {
  return { type: 'job.outcome', jobId, verdict, ...(verdict === 'failed' ? {} : { preimage: held.preimage }) };
}

/** A finished run whose provider was never told its verdict (the aggregator stopped, or the provider was away). */
export function untoldOutcomeOf(job: JobRecord): { provider: string; frame: OutcomeFrame } | undefined {
  const held = job.verification?.holdInvoice;
  const verdict = job.verification?.verdict;
  if (!held || held.told || !verdict) return undefined;
  return { provider: held.provider, frame: outcomeFrameOf(job.jobId, verdict, held) };
}

/** Outcomes per provider key, sent when that provider (re)connects. */
export class WaitingOutcomes {
  private readonly byJob = new Map<string, { provider: string; frame: OutcomeFrame }>();

  add(provider: string, frame: OutcomeFrame): void {
    this.byJob.delete(frame.jobId);
    this.byJob.set(frame.jobId, { provider, frame });
    if (this.byJob.size > MAX_WAITING_OUTCOMES) this.byJob.delete(this.byJob.keys().next().value!);
  }

  /** Removes and returns the provider's outcomes, oldest first. */
  takeFor(provider: string): OutcomeFrame[] {
    const frames: OutcomeFrame[] = [];
    for (const [jobId, waiting] of this.byJob) {
      if (waiting.provider !== provider) continue;
      frames.push(waiting.frame);
      this.byJob.delete(jobId);
    }
    return frames;
  }

  get size(): number {
    return this.byJob.size;
  }
}
