// Push notifications for paired phones whose app is not running: when the node (as aggregator) finishes a job
// a paired phone submitted, each of the phone's push tokens gets one message. A reader of the job event feed
// with a persisted cursor: a job that ended just before a crash is still pushed at the next start. The node never sees the output
// (it is end-to-end encrypted), so the message says only how the job ended.
import type { JobFeedReader, JobRecord, JobState, SequencedJobEvent } from '../jobs/index.js';
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

/** How a run ends, as the phone is told: its payment moves after (settled, refunded) are not news to the phone. */
const PUSHED_STATES: readonly JobState[] = ['completed', 'failed', 'cancelled'];

/** The aggregator's ends of runs send the pushes, so no job code has to. */
export class JobPushReader implements JobFeedReader {
  readonly name = 'phone-pushes';
  readonly start = 'persisted';

  constructor(private readonly options: JobPushesOptions) {}

  wants(event: SequencedJobEvent): boolean {
    return event.role === 'aggregator' && PUSHED_STATES.includes(event.to);
  }

  /** Tells the state the event entered, even when the job has moved on since (to settled, say). */
  async handle(event: SequencedJobEvent, job: JobRecord | undefined): Promise<void> {
    if (job?.client) await this.push({ ...job, state: event.to });
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
