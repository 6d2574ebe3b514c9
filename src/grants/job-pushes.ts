// Push notifications for paired phones whose app is not running: when the node (as aggregator) finishes a job
// a paired phone submitted, each of the phone's push tokens gets one message. The node never sees the output
// (it is end-to-end encrypted), so the message says only how the job ended.
import type { JobPatch, JobRecord, JobRole, JobState, JobStore } from '../jobs/index.js';
import { ForwardingJobStore, isFinished } from '../jobs/index.js';
import type { Logger } from '../log/index.js';
import type { PushToken } from './grants-file.js';

export const PUSH_TIMEOUT_MS = 5_000;

/** One message in the Expo push service's format (https://docs.expo.dev/push-notifications/sending-notifications/). */
export interface PushMessage {
  to: string;
  title: string;
  body: string;
  data: { jobId: string; state: string };
}

export function pushMessagesFor(job: Pick<JobRecord, 'jobId' | 'model' | 'state' | 'tokens' | 'error'>, tokens: readonly PushToken[]): PushMessage[] {
  const body =
    job.state === 'completed'
      ? `Completed: ${job.tokens} tokens. Open the app to read the output.`
      : `${job.state === 'cancelled' ? 'Cancelled' : 'Failed'}${job.error ? `: ${job.error.message}` : ''}`;
  return tokens.map((token) => ({ to: token.token, title: `${job.model}: ${job.state}`, body: body.slice(0, 240), data: { jobId: job.jobId, state: job.state } }));
}

export interface JobPushesOptions {
  pushUrl: string;
  /** The live push tokens of a paired phone (none for other clients). */
  tokensOf: (clientPublicKey: string) => Promise<PushToken[]>;
  logger: Logger;
}

/** A JobStore decorator: the aggregator's finishing transitions send the pushes, so no job code has to. */
export class JobPushingStore extends ForwardingJobStore {
  constructor(
    inner: JobStore,
    private readonly options: JobPushesOptions,
  ) {
    super(inner);
  }

  override async transition(jobId: string, role: JobRole, to: JobState, patch?: JobPatch, reason?: string): Promise<JobRecord> {
    const record = await this.inner.transition(jobId, role, to, patch, reason);
    if (role === 'aggregator' && isFinished(to) && record.client) void this.push(record);
    return record;
  }

  /** Failures are logged, never thrown: a push service that is down must not fail the job. */
  private async push(job: JobRecord): Promise<void> {
    const { logger, pushUrl, tokensOf } = this.options;
    try {
      const tokens = await tokensOf(job.client!);
      if (!tokens.length) return;
      const response = await fetch(pushUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify(pushMessagesFor(job, tokens)),
        signal: AbortSignal.timeout(PUSH_TIMEOUT_MS),
      });
      if (!response.ok) throw new Error(`the push service answered ${response.status}`);
      logger.info({ jobId: job.jobId, messages: tokens.length }, 'pushed job state to the paired phone');
    } catch (error) {
      logger.warn({ jobId: job.jobId, err: (error as Error).message, pushUrl }, 'cannot push to the paired phone');
    }
  }
}
