// A client's job that outlives its aggregator: when the session with the aggregator closes (the aggregator died,
// or the network between them) before the job's result, the job goes on through the next aggregator of the ranked
// list, continuing after the tokens already streamed (JobSpec.continuation, as the aggregator's own provider
// failover does), so the caller sees one stream and a greedy job's text equals an uninterrupted run's.
//
// Payment: every aggregator attempt after the first runs under its own job id (`<jobId>-agg<n>`), so its escrow
// key differs from the lost attempt's (`<jobId>`, `<jobId>~N`). The lost attempt is never released: only its
// aggregator releases, and that one is gone; restarted, it fails the interrupted job and its settlement refunds the
// deposit, or the client refunds it after the deadline (`infernet wallet refund`, or its daemon's sweep). No job is
// charged twice.
import type { NodeKey } from '../identity/index.js';
import type { AggregatorAttempt, JobStore } from '../jobs/index.js';
import { replaySpec, type ReceivedOutput } from '../jobs/job-failover.js';
import type { Logger } from '../log/index.js';
import { JobFailedError } from './job-client.js';
import { sha256Hex } from '../jobs/job-envelopes.js';
import type { JobPayer } from '../payments/index.js';
import type { JobSpec } from '../protocol/index.js';
import type { PeerSession } from '../transport/index.js';
import { runVerifiedJob, type VerifiedJobOutcome } from './run-verified-job.js';
import type { RandomSource } from '../verification/verification-policy.js';
import { ClientJobRecord, recordingHooks } from './client-job-record.js';
import { clientJobFailureOf, type ClientJobHooks } from './run-client-job.js';

/** Aggregators one job is tried on, the first included. */
export const MAX_AGGREGATOR_ATTEMPTS = 3;

/** An aggregator the job could not finish through. */
export interface AggregatorLoss {
  endpoint: string;
  /** closed: the session closed mid-job; unreachable: it could not be dialled. */
  reason: 'closed' | 'unreachable';
  message: string;
  /** Tokens the client had received when it was lost. */
  tokensReceived: number;
}

export interface RunJobAcrossAggregatorsParameters {
  /** Best first (findAggregators); the job moves down the list as aggregators are lost. Keys from their signed records. */
  aggregators: ReadonlyArray<{ endpoint: string; pubkey?: string }>;
  /** Opens a client session with an aggregator. */
  connect: (endpoint: string) => Promise<PeerSession>;
  key: NodeKey;
  spec: JobSpec;
  payer?: JobPayer;
  store?: JobStore;
  logger: Logger;
  hooks?: ClientJobHooks & { onAggregator?: (endpoint: string) => void; onAggregatorLost?: (loss: AggregatorLoss) => void };
  random?: RandomSource;
  maxAggregators?: number;
  /** The sessions `connect` gives are shared with other jobs (an API's one connection): left open after the job. */
  sharedSessions?: boolean;
}

export interface RunJobAcrossAggregatorsReturnType {
  /** The whole job: output and token ids from every aggregator's part, under the spec's job id. */
  outcome: VerifiedJobOutcome;
  /** The aggregator that finished it. */
  aggregator: string;
  lost: AggregatorLoss[];
}

/** The job id of the n-th aggregator attempt (1-based): the spec's for the first. */
export function aggregatorAttemptJobId(jobId: string, attempt: number): string {
  return attempt <= 1 ? jobId : `${jobId.slice(0, 56)}-agg${attempt}`;
}

export class AggregatorsExhaustedError extends JobFailedError {
  constructor(jobId: string, lost: readonly AggregatorLoss[]) {
    super(jobId, 'provider_unreachable', `no aggregator could finish the job: ${lost.map((loss) => `${loss.endpoint} ${loss.reason} (${loss.message})`).join('; ') || 'none to try'}`);
  }
}

export async function runJobAcrossAggregators(parameters: RunJobAcrossAggregatorsParameters): Promise<RunJobAcrossAggregatorsReturnType> {
  const { aggregators, connect, key, spec, payer, store, logger, hooks = {} } = parameters;
  const record = store ? new ClientJobRecord(store, { jobId: spec.jobId, role: 'client', model: spec.model.name, client: key.publicKey }, logger) : undefined;
  const lost: AggregatorLoss[] = [];
  const received: { text: string; tokenIds: number[] } = { text: '', tokenIds: [] };
  let runs = 0;
  try {
    for (const { endpoint, pubkey } of aggregators.slice(0, parameters.maxAggregators ?? MAX_AGGREGATOR_ATTEMPTS)) {
      if (hooks.signal?.aborted) break;
      let session: PeerSession;
      try {
        session = await connect(endpoint);
      } catch (error) {
        record?.attempted({ endpoint, ...(pubkey ? { pubkey } : {}), outcome: 'unreachable' });
        loseAggregator(lost, { endpoint, reason: 'unreachable', message: (error as Error).message, tokensReceived: received.tokenIds.length }, hooks, logger);
        continue;
      }
      // The key the session authenticated, over the one the record named (a configured URL has none).
      const attempt = (outcome: AggregatorAttempt['outcome']): AggregatorAttempt => ({ endpoint, ...((session.peer?.pubkey ?? pubkey) ? { pubkey: session.peer?.pubkey ?? pubkey } : {}), outcome });
      const before: ReceivedOutput = { text: received.text, tokenIds: [...received.tokenIds] };
      const attemptSpec = replaySpec({ ...spec, jobId: aggregatorAttemptJobId(spec.jobId, ++runs) }, before);
      if (!attemptSpec) {
        if (!parameters.sharedSessions) session.close();
        throw new JobFailedError(spec.jobId, 'provider_unreachable', 'the aggregator was lost after every token arrived but before the signed result');
      }
      hooks.onAggregator?.(endpoint);
      try {
        const outcome = await runVerifiedJob(session, key, attemptSpec, {
          ...(payer ? { payer } : {}),
          ...(parameters.random ? { random: parameters.random } : {}),
          hooks: recordingHooks(record, hooks, (text, tokenIds) => {
            received.text += text;
            received.tokenIds.push(...tokenIds);
          }),
        });
        const whole = joined(spec.jobId, before, outcome);
        record?.attempted(attempt('completed'));
        record?.completed(whole);
        return { outcome: whole, aggregator: endpoint, lost };
      } catch (error) {
        // Only a lost session moves the job on; a refusal (no provider, payment, deadline) would meet the next one too.
        const closed = error instanceof JobFailedError && error.reason === 'closed';
        record?.attempted(attempt(closed && !hooks.signal?.aborted ? 'lost' : 'refused'));
        if (hooks.signal?.aborted || !closed) throw error;
        loseAggregator(lost, { endpoint, reason: 'closed', message: error.message, tokensReceived: received.tokenIds.length }, hooks, logger);
      } finally {
        if (!parameters.sharedSessions) session.close();
      }
    }
    throw new AggregatorsExhaustedError(spec.jobId, lost);
  } catch (error) {
    record?.ended(clientJobFailureOf(error, hooks.signal));
    throw error;
  } finally {
    record?.release();
    await record?.written();
  }
}

function loseAggregator(lost: AggregatorLoss[], loss: AggregatorLoss, hooks: NonNullable<RunJobAcrossAggregatorsParameters['hooks']>, logger: Logger): void {
  lost.push(loss);
  logger.warn({ aggregator: loss.endpoint, reason: loss.reason, tokensReceived: loss.tokensReceived, err: loss.message }, 'aggregator lost: the job moves to the next one');
  hooks.onAggregatorLost?.(loss);
}

/** The outcome of a continued attempt, as the whole job: what came before it, then its own part. */
function joined(jobId: string, before: ReceivedOutput, outcome: VerifiedJobOutcome): VerifiedJobOutcome {
  if (!before.tokenIds.length) return { ...outcome, jobId };
  const tokenIds = [...before.tokenIds, ...outcome.tokenIds];
  const output = before.text + outcome.output;
  return { ...outcome, jobId, output, outputHash: sha256Hex(output), tokenIds, tokens: tokenIds.length };
}
