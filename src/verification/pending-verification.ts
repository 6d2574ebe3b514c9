// The rules of a run that waits for its client's verdict, as pure functions over the aggregator's job record: what
// is persisted when the run's signed result passes (running -> verifying), how the run is read back after a
// restart, and where a verdict or a closed window takes it. VerdictWitness does the I/O.
//
// A closed window settles the run 'unchecked', which pays it, as before runs were persisted: a client that sends
// no verdict has found nothing wrong, and the provider must not wait forever. Whether the window is closed is
// decided from the persisted deadline only, so a restart neither shortens nor lengthens it.
import type { JobPatch, JobRecord, JobVerification } from '../jobs/job-record.js';
import type { JobState } from '../jobs/state-machine.js';
import type { VerificationPolicy } from '../protocol/index.js';
import type { WitnessedRun } from './check-verdict.js';
import type { VerificationOutcome, VerificationVerdict } from './verification-outcome.js';

/** How long a run under a policy waits for its client's verdict, unless configured. */
export const DEFAULT_VERDICT_WAIT_MS = 10 * 60_000;

/** What a run's move to verifying persists beside the state: enough to judge a verdict after a restart. */
export function verifyingPatchOf(run: WitnessedRun, policy: VerificationPolicy, now: number, waitMs: number, held: Pick<JobVerification, 'holdInvoice'> = {}): JobPatch & { verification: JobVerification } {
  return {
    provider: run.provider,
    client: run.client,
    model: run.model,
    outputHash: run.outputHash,
    tokens: run.tokens,
    verification: {
      policy,
      resultEventId: run.resultEventId,
      ...(run.price ? { price: run.price } : {}),
      verdictDeadline: now + waitMs,
      ...(held.holdInvoice ? { holdInvoice: held.holdInvoice } : {}),
      ...(run.fingerprintHash ? { fingerprintHash: run.fingerprintHash } : {}),
      ...(run.checkOf ? { checkOf: run.checkOf } : {}),
    },
  };
}

/** A persisted run awaiting its verdict, as the witness judges it: undefined when the record lacks what that needs. */
export interface PendingVerification {
  run: WitnessedRun;
  verification: JobVerification;
}

export function pendingVerificationOf(job: JobRecord): PendingVerification | undefined {
  const { verification } = job;
  if (job.state !== 'verifying' || !verification || !job.provider || !job.client || !job.outputHash) return undefined;
  const run: WitnessedRun = {
    jobId: job.jobId,
    provider: job.provider,
    client: job.client,
    model: job.model,
    outputHash: job.outputHash,
    resultEventId: verification.resultEventId,
    // The stores read a count of 0 back as absent.
    tokens: job.tokens ?? 0,
    ...(verification.price ? { price: verification.price } : {}),
    ...(verification.fingerprintHash ? { fingerprintHash: verification.fingerprintHash } : {}),
    ...(verification.checkOf ? { checkOf: verification.checkOf } : {}),
  };
  return { run, verification };
}

/** Milliseconds the verdict may still take; 0 once the persisted window is closed. */
export function verdictWaitLeft(verification: Pick<JobVerification, 'verdictDeadline'>, now: number): number {
  return Math.max(0, verification.verdictDeadline - now);
}

/** A run found wrong fails (and its client is refunded); every other verdict completes it (and it is paid). */
export function jobStateAfterVerdict(verdict: VerificationVerdict): Extract<JobState, 'completed' | 'failed'> {
  return verdict === 'failed' ? 'failed' : 'completed';
}

/** What the move out of verifying persists: the verdict, and for a run found wrong the failure a user reads. */
export function verdictPatchOf(verification: JobVerification, verdict: VerificationVerdict, verdictJobId: string): JobPatch {
  return {
    verification: { ...verification, verdict, verdictJobId },
    ...(verdict === 'failed' ? { error: { code: 'verification_failed', message: `the run was outvoted by the other runs of job ${verdictJobId}` } } : {}),
  };
}

/**
 * What a run under policy none persists with its move to completed: its result and the verdict it was settled on
 * (unchecked), so that what follows from its end (its provider's rating) is read from the record like any run's.
 * Without the hold invoice: a run under none is told its verdict at once, never waits for it.
 */
export function uncheckedVerificationOf(run: WitnessedRun, now: number): JobVerification {
  return {
    policy: { kind: 'none' },
    resultEventId: run.resultEventId,
    ...(run.price ? { price: run.price } : {}),
    verdictDeadline: now,
    verdict: 'unchecked',
    verdictJobId: run.jobId,
    ...(run.fingerprintHash ? { fingerprintHash: run.fingerprintHash } : {}),
  };
}

/**
 * The verification outcome of a relayed run, from the aggregator's record once a verdict settled it (completed or
 * failed out of verifying, or completed unchecked under none); undefined for a run that ended without one.
 */
export function outcomeOfSettledRun(job: JobRecord): VerificationOutcome | undefined {
  const { verification } = job;
  if (job.role !== 'aggregator' || !verification?.verdict || !job.provider || !job.client || !job.outputHash) return undefined;
  return {
    jobId: verification.verdictJobId ?? job.jobId,
    runJobId: job.jobId,
    provider: job.provider,
    client: job.client,
    model: job.model,
    verdict: verification.verdict,
    policy: verification.policy,
    outputHash: job.outputHash,
    resultEventId: verification.resultEventId,
    ...(verification.price ? { price: verification.price } : {}),
    tokens: job.tokens ?? 0,
    at: job.updatedAt,
  };
}
