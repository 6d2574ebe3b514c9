// A JobStore decorator that turns every stored transition into metrics, so no job code has to remember to.
import { ForwardingJobStore, isFinished, type JobPatch, type JobRecord, type JobRole, type JobState, type JobStore, type NewJob } from '../jobs/index.js';
import type { NodeMetrics } from './node-metrics.js';

export class MeteredJobStore extends ForwardingJobStore {
  /** When each job of this process started running, for its tokens per second. */
  private readonly runningSince = new Map<string, number>();

  constructor(
    inner: JobStore,
    private readonly metrics: NodeMetrics,
    private readonly now: () => number = () => performance.now(),
  ) {
    super(inner);
  }

  override async create(job: NewJob): Promise<JobRecord> {
    const record = await this.inner.create(job);
    this.observe(record, {});
    return record;
  }

  override async transition(jobId: string, role: JobRole, to: JobState, patch?: JobPatch, reason?: string): Promise<JobRecord> {
    const record = await this.inner.transition(jobId, role, to, patch, reason);
    this.observe(record, patch ?? {});
    return record;
  }

  private observe(record: JobRecord, patch: JobPatch): void {
    const { jobId, role, state } = record;
    const finished = isFinished(state);
    this.metrics.recordJobState(jobId, role, state, finished);
    const key = `${role}:${jobId}`;
    if (state === 'running' && !this.runningSince.has(key)) this.runningSince.set(key, this.now());
    if (!finished) return;
    const started = this.runningSince.get(key);
    this.runningSince.delete(key);
    const tokens = record.tokens ?? 0;
    if (tokens > 0 && (state === 'completed' || state === 'cancelled' || state === 'failed')) this.metrics.tokens.inc({ role }, tokens);
    if (state === 'completed' && tokens > 0 && started !== undefined) {
      const seconds = (this.now() - started) / 1000;
      if (seconds > 0) this.metrics.tokensPerSecond.observe({ role }, tokens / seconds);
    }
    if (state === 'failed' && patch.error?.code === 'bad_signature') this.metrics.verificationFailures.inc({ reason: 'bad_signature' });
  }
}
