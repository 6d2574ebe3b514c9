// The client role's way to run a job over one session: under the job's verification policy (checks on other
// providers, the verdict sent to the aggregator), paid by the payer handed in, and recorded in the node's store.
// Batches run here (they place and retry requests themselves); `infernet submit`, the HTTP APIs and the desktop
// interface's gateway run through run-job-through-aggregator.ts, which adds the aggregator's restart and shares
// this module's recording and failure rules (recordingHooks, clientJobFailureOf).
import type { NodeKey } from '../identity/index.js';
import type { JobStore } from '../jobs/index.js';
import type { Logger } from '../log/index.js';
// Imported from its module: node/index.js leads back to the daemon, which imports the client's callers.
import { JobFailedError, type JobHooks } from './job-client.js';
import type { JobPayer } from '../payments/index.js';
import type { JobSpec } from '../protocol/index.js';
import type { PeerSession } from '../transport/index.js';
import { errorCodeOf, errorMessageOf, InfernetError } from '../errors/index.js';
import { runVerifiedJob, type VerifiedJobOutcome } from './run-verified-job.js';
import type { RandomSource } from '../verification/verification-policy.js';
import { ClientJobRecord, recordingHooks } from './client-job-record.js';

/** What a caller hears of its job; the payer and the providers to exclude are the runner's to set. */
export type ClientJobHooks = Omit<JobHooks, 'payer' | 'exclude'>;

export interface RunClientJobParameters {
  /** An open client session with an aggregator. */
  session: PeerSession;
  key: NodeKey;
  spec: JobSpec;
  /** Pays every execution whose match asks payment (the primary and each check); none: such a job is refused. */
  payer?: JobPayer;
  /** Where the client's record of the job is kept (`infernet jobs`); none: the caller keeps its own (a batch). */
  store?: JobStore;
  logger: Logger;
  hooks?: ClientJobHooks;
  /** Decides whether a sampled job is checked; unpredictable by default. */
  random?: RandomSource;
}

export type RunClientJobReturnType = VerifiedJobOutcome;

/**
 * Runs the spec and resolves once its record is written. Rejects like runJob when the job fails: a job stopped
 * through hooks.signal is recorded cancelled, unless the signal's reason is an InfernetError (a deadline, say),
 * which is then recorded as the failure.
 */
export async function runClientJob(parameters: RunClientJobParameters): Promise<RunClientJobReturnType> {
  const { session, key, spec, payer, store, logger, hooks = {} } = parameters;
  const record = store ? new ClientJobRecord(store, { jobId: spec.jobId, role: 'client', model: spec.model.name, client: key.publicKey }, logger) : undefined;
  try {
    const outcome = await runVerifiedJob(session, key, spec, {
      ...(payer ? { payer } : {}),
      ...(parameters.random ? { random: parameters.random } : {}),
      hooks: recordingHooks(record, hooks),
    });
    record?.completed(outcome);
    return outcome;
  } catch (error) {
    record?.ended(clientJobFailureOf(error, hooks.signal));
    throw error;
  } finally {
    record?.release();
    await record?.written();
  }
}

export interface ClientJobFailure {
  state: 'failed' | 'cancelled';
  code: string;
  message: string;
}

/** How a failed job is recorded: its wire code (or `closed`), and cancelled when the client stopped it. */
export function clientJobFailureOf(error: unknown, signal?: AbortSignal): ClientJobFailure {
  const reason: unknown = signal?.aborted ? signal.reason : undefined;
  if (reason instanceof InfernetError) return { state: 'failed', code: reason.code, message: reason.message };
  const code = error instanceof JobFailedError ? error.reason : errorCodeOf(error);
  return { state: signal?.aborted || code === 'cancelled' ? 'cancelled' : 'failed', code, message: errorMessageOf(error) };
}
