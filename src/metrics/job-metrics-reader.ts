// Metrics follow from the job event feed, so no job code has to remember them: states entered, active jobs,
// tokens and rates. A live reader: the counters are this process's, so it starts at the feed's end.
import { isFinished, type JobFeedReader, type JobRecord, type SequencedJobEvent } from '../jobs/index.js';
import type { NodeMetrics } from './node-metrics.js';

export class JobMetricsReader implements JobFeedReader {
  readonly name = 'metrics';
  readonly start = 'live';
  /** When each job seen by this process started running (its event's time), for its tokens per second. */
  private readonly runningSince = new Map<string, number>();

  constructor(private readonly metrics: NodeMetrics) {}

  wants(): boolean {
    return true;
  }

  /** Tokens and failures are read from the record of a job that finished; other moves need only the event. */
  needsJob(event: SequencedJobEvent): boolean {
    return isFinished(event.to);
  }

  handle(event: SequencedJobEvent, job: JobRecord | undefined): void {
    const { jobId, role, to: state } = event;
    const finished = isFinished(state);
    this.metrics.recordJobState(jobId, role, state, finished);
    const key = `${role}:${jobId}`;
    if (state === 'running' && !this.runningSince.has(key)) this.runningSince.set(key, event.at);
    if (!finished) return;
    const started = this.runningSince.get(key);
    this.runningSince.delete(key);
    const tokens = job?.tokens ?? 0;
    if (tokens > 0 && (state === 'completed' || state === 'cancelled' || state === 'failed')) this.metrics.tokens.inc({ role }, tokens);
    if (state === 'completed' && tokens > 0 && started !== undefined) {
      const seconds = (event.at - started) / 1000;
      if (seconds > 0) this.metrics.tokensPerSecond.observe({ role }, tokens / seconds);
    }
    if (state === 'failed' && job?.error?.code === 'bad_signature') this.metrics.verificationFailures.inc({ reason: 'bad_signature' });
  }
}
