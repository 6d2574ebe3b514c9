// A client's job on the one aggregator it was told to use (`--connect`), outliving that aggregator's restart: when
// the session closes before the result (the aggregator crashed or was restarted), the client dials the same address
// again until it answers or RESUME_WAIT_MS pass, and the job goes on there from the tokens already streamed, as a new
// attempt under its own job id (run-job-across-aggregators.ts says why: no escrow key repeats, and the restarted
// aggregator fails the interrupted attempt, which refunds it). The caller sees one stream; a greedy job's text equals
// an uninterrupted run's. An aggregator that does not come back within the wait fails the job as before.
import type { NodeKey } from '../identity/index.js';
import type { JobStore } from '../jobs/index.js';
import type { Logger } from '../log/index.js';
import type { JobPayer } from '../payments/index.js';
import type { JobSpec } from '../protocol/index.js';
import { backoffDelay, type BackoffPolicy, type PeerSession } from '../transport/index.js';
import type { RandomSource } from '../verification/verification-policy.js';
import { MAX_AGGREGATOR_ATTEMPTS, runJobAcrossAggregators, type AggregatorLoss, type RunJobAcrossAggregatorsReturnType } from './run-job-across-aggregators.js';
import type { ClientJobHooks } from './run-client-job.js';

/** How long a lost aggregator is dialled again before the job gives up on it: a restart takes seconds. */
export const RESUME_WAIT_MS = 30_000;
/** Between dials: from a quarter second, doubling, at most two seconds, so a restarted aggregator is found quickly. */
const REDIAL_BACKOFF: BackoffPolicy = { initialMs: 250, maxMs: 2_000, factor: 2 };

export interface RunJobThroughAggregatorParameters {
  /** The aggregator's address, as losses name it. */
  url: string;
  /** The session already open with it, used for the first attempt. */
  session: PeerSession;
  /** Opens a new client session with the same aggregator (one try; a shared connection's own redial counts as one). */
  dial: () => Promise<PeerSession>;
  key: NodeKey;
  spec: JobSpec;
  payer?: JobPayer;
  store?: JobStore;
  logger: Logger;
  hooks?: ClientJobHooks & { onAggregatorLost?: (loss: AggregatorLoss) => void };
  random?: RandomSource;
  /** Default RESUME_WAIT_MS. */
  resumeWaitMs?: number;
  /** The sessions are shared with other jobs (an API's one connection to its aggregator): never closed here. */
  sharedSessions?: boolean;
}

export async function runJobThroughAggregator(parameters: RunJobThroughAggregatorParameters): Promise<RunJobAcrossAggregatorsReturnType> {
  const { url, dial, spec, hooks = {} } = parameters;
  let first: PeerSession | undefined = parameters.session;
  let gone = false;
  const connect = async (): Promise<PeerSession> => {
    if (first) {
      const session = first;
      first = undefined;
      return session;
    }
    // Once it stayed away for a whole wait, it is not waited for again.
    if (gone) throw new Error(`${url} did not come back`);
    const until = Math.min(Date.now() + (parameters.resumeWaitMs ?? RESUME_WAIT_MS), spec.deadline);
    return redialUntil(dial, until, hooks.signal).catch((error: Error) => {
      gone = true;
      throw error;
    });
  };
  return runJobAcrossAggregators({
    aggregators: Array.from({ length: MAX_AGGREGATOR_ATTEMPTS }, () => ({ endpoint: url })),
    connect,
    key: parameters.key,
    spec,
    logger: parameters.logger,
    hooks,
    ...(parameters.payer ? { payer: parameters.payer } : {}),
    ...(parameters.store ? { store: parameters.store } : {}),
    ...(parameters.random ? { random: parameters.random } : {}),
    ...(parameters.sharedSessions ? { sharedSessions: true } : {}),
  });
}

/** Dials until a session opens, `until` (unix ms) passes or the signal aborts; the last dial's error otherwise. */
export async function redialUntil(dial: () => Promise<PeerSession>, until: number, signal?: AbortSignal): Promise<PeerSession> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await dial();
    } catch (error) {
      const wait = Math.min(backoffDelay(attempt, REDIAL_BACKOFF), until - Date.now());
      if (wait <= 0 || signal?.aborted) throw error;
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}
