// How a job fails over to another provider: the pure decisions behind it (whether a lost attempt is tried again,
// which providers are left out, which states record the move, which escrow key each attempt pays under), so the
// aggregator and the client only carry them out. Table-tested in job-failover.test.ts.
import type { JobSpec } from '../protocol/index.js';
import type { JobState } from './state-machine.js';

/** Attempts of one job, the first included: a third lost provider fails the job. */
export const MAX_JOB_ATTEMPTS = 3;

/** A provider that did not finish the job, and why. */
export interface LostAttempt {
  /** Hex public key of the provider. */
  provider: string;
  /** The wire error code of the loss: provider_unreachable for a lost connection, else the code it rejected with. */
  code: string;
  message: string;
}

/**
 * Rejections that another provider would meet as well (the offer itself is wrong, or the job is over): the job
 * fails with them instead of being matched again.
 */
const JOB_FAULTS: ReadonlySet<string> = new Set(['bad_signature', 'decryption_failed', 'invalid_frame', 'deadline_exceeded', 'duplicate_job', 'cancelled', 'payment_refused', 'payment_failed']);

export type FailoverDecision =
  | { kind: 'retry'; attempt: number; exclude: string[] }
  | { kind: 'fail'; code: string; message: string };

/**
 * What follows the loss of `lost.at(-1)` on attempt `attempt` (1-based): another attempt that leaves out every
 * lost provider (and those the client excluded), or the job's failure naming why each provider was lost.
 */
export function nextAttempt(input: { attempt: number; lost: readonly LostAttempt[]; exclude?: readonly string[]; maxAttempts?: number }): FailoverDecision {
  const last = input.lost.at(-1);
  if (!last) throw new Error('nextAttempt needs the attempt that was lost');
  const max = input.maxAttempts ?? MAX_JOB_ATTEMPTS;
  if (JOB_FAULTS.has(last.code)) return { kind: 'fail', code: last.code, message: last.message };
  if (input.attempt >= max) return { kind: 'fail', code: last.code, message: `${input.lost.length} providers tried, none finished the job: ${describeLosses(input.lost)}` };
  return { kind: 'retry', attempt: input.attempt + 1, exclude: [...new Set([...(input.exclude ?? []), ...input.lost.map((loss) => loss.provider)])] };
}

/** The failure of a job that found no provider for its next attempt. */
export function noProviderLeft(lost: readonly LostAttempt[]): { code: string; message: string } {
  return { code: lost.at(-1)?.code ?? 'no_provider', message: `no other provider could take the job after ${describeLosses(lost)}` };
}

/** "provider 1a2b3c4d… lost (provider_unreachable: the connection closed); provider …" */
export function describeLosses(lost: readonly LostAttempt[]): string {
  return lost.map((loss, i) => `attempt ${i + 1} on provider ${loss.provider.slice(0, 16)}… lost (${loss.code}: ${loss.message})`).join('; ');
}

/**
 * The legal moves from the state a job was in when its provider was lost back to `matched` with the next provider:
 * running -> dispatched -> matched, dispatched -> matched, matched -> created -> matched. Undefined from a state
 * that cannot fail over (not started, or already ended).
 */
export function rematchPath(from: JobState): JobState[] | undefined {
  if (from === 'running') return ['dispatched', 'matched'];
  if (from === 'dispatched') return ['matched'];
  if (from === 'matched') return ['created', 'matched'];
  return undefined;
}

/**
 * The key an attempt's payment is held under (the escrow's job key, the ledger's job id): the job id for the first
 * attempt, so a job that never fails over pays as before; `<jobId>~<n>` for the n-th, so that the lost attempt's
 * deposit is refunded and the new one released, each once.
 */
export function attemptPaymentId(jobId: string, attempt: number): string {
  return attempt <= 1 ? jobId : `${jobId}~${attempt}`;
}

/** The attempt a job is on, from its persisted transitions: one per move into matched (at least 1). */
export function attemptOfEvents(events: ReadonlyArray<{ to: JobState }>): number {
  return Math.max(1, events.filter((event) => event.to === 'matched').length);
}

/** The job an attempt's payment key belongs to (job ids never hold `~`). */
export function jobIdOfPayment(paymentId: string): string {
  const at = paymentId.indexOf('~');
  return at < 0 ? paymentId : paymentId.slice(0, at);
}

/** What a client received of a job before its provider was lost. */
export interface ReceivedOutput {
  text: string;
  tokenIds: readonly number[];
}

/**
 * The spec a client offers the provider of a later attempt: the same job, continuing after what it already
 * received (JobSpec.continuation) and owing only the tokens left. Undefined when nothing is owed any more (every
 * token arrived but the result was lost): no run can give a greedy job's result back without starting over.
 */
export function replaySpec(spec: JobSpec, received: ReceivedOutput): JobSpec | undefined {
  if (!received.tokenIds.length) return spec;
  const owed = spec.sampling.maxTokens - received.tokenIds.length;
  if (owed <= 0) return undefined;
  return { ...spec, sampling: { ...spec.sampling, maxTokens: owed }, continuation: { tokenIds: [...received.tokenIds], text: received.text } };
}
