// The client's record of a job it runs, kept in the node's store (`infernet jobs`). Nothing is written before the
// first token (or the job's end): on a small machine the store's writes compete with the job for the CPU, and
// measured about 12 ms of first-token latency when they ran alongside. From then on the text and token ids the
// caller was streamed are written: after the first piece (the caller has it by then), then at most once a second,
// and with the job's end, so a process killed mid-stream leaves what it had received (its job is then recorded ended with it: src/jobs/orphaned-client-jobs.ts).
import { JobProgressRecorder, type AggregatorAttempt, type JobPatch, type JobState, type JobStore, type NewJob } from '../jobs/index.js';
import type { Logger } from '../log/index.js';
import { currentProcessIdentity } from '../processes/index.js';
import type { JobHooks } from './job-client.js';
import type { ClientJobFailure } from './run-client-job.js';

/** How often the streamed text and token ids are written while the job streams. */
export const STREAM_CHECKPOINT_MS = 1_000;
/**
 * Token ids kept at most: past it only the text is kept (a JSON field of the backend holds 1 MB, about 130,000
 * ids); a job that long would continue from its text, tokenized again.
 */
export const MAX_RECORDED_TOKEN_IDS = 100_000;

export class ClientJobRecord {
  private chain: Promise<unknown>;
  private readonly recorder: JobProgressRecorder;
  private open!: () => void;
  private released = false;
  private text = '';
  private readonly tokenIds: number[] = [];
  private readonly attempts: AggregatorAttempt[] = [];
  private checkpointedAt = 0;
  private checkpointQueued = false;

  constructor(
    private readonly store: JobStore,
    private readonly job: NewJob,
    private readonly logger: Logger,
  ) {
    this.recorder = new JobProgressRecorder(store, job.jobId, 'client');
    const gate = new Promise<void>((resolve) => (this.open = resolve));
    // Owned by this process: if it ends before the job does, the record is known to have ended with it.
    this.chain = gate.then(() => store.create({ ...job, owner: currentProcessIdentity() })).catch((error: Error) => this.warn(error));
  }

  /** Queues a transition; it is written once the record is opened. */
  advance(to: JobState, patch: JobPatch = {}): void {
    this.chain = this.chain.then(() => this.recorder.advance(to, patch)).catch((error: Error) => this.warn(error));
  }

  /** The caller was streamed `text` as `tokenIds`: kept, and written once a second. */
  streamed(text: string, tokenIds: readonly number[]): void {
    this.text += text;
    this.tokenIds.push(...tokenIds);
    this.release();
    if (this.checkpointQueued || Date.now() - this.checkpointedAt < STREAM_CHECKPOINT_MS) return;
    this.checkpointQueued = true;
    this.chain = this.chain
      .then(() => {
        this.checkpointQueued = false;
        this.checkpointedAt = Date.now();
        return this.store.update(this.job.jobId, 'client', { ...this.streamedPatch(), ...this.attemptsPatch() });
      })
      .catch((error: Error) => this.warn(error));
  }

  /** An aggregator the job went to, and how that went: written with the job's next write. */
  attempted(attempt: AggregatorAttempt): void {
    this.attempts.push(attempt);
  }

  /** The job's end: its whole output as the runner assembled it. */
  completed(outcome: { output: string; tokens: number; tokenIds: readonly number[]; provider: string }): void {
    this.advance('completed', { output: outcome.output, tokens: outcome.tokens, provider: outcome.provider, ...keptTokenIds(outcome.tokenIds), ...this.attemptsPatch() });
  }

  /** The job's end without a result: the failure, and what had streamed by then. */
  ended(failure: ClientJobFailure): void {
    this.advance(failure.state, { error: { code: failure.code, message: failure.message }, ...this.streamedPatch(), ...this.attemptsPatch() });
  }

  /** Lets the queued writes go: at the first token, or when the job ends without one. */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.open();
  }

  /** Settles when every transition queued so far is written (or warned about). */
  async written(): Promise<void> {
    await this.chain;
  }

  private streamedPatch(): JobPatch {
    if (!this.tokenIds.length) return {};
    return { output: this.text, tokens: this.tokenIds.length, ...keptTokenIds(this.tokenIds) };
  }

  private attemptsPatch(): JobPatch {
    return this.attempts.length ? { aggregatorAttempts: [...this.attempts] } : {};
  }

  private warn(error: Error): void {
    this.logger.warn({ err: error.message }, 'cannot record the client job');
  }
}

function keptTokenIds(tokenIds: readonly number[]): JobPatch {
  return tokenIds.length && tokenIds.length <= MAX_RECORDED_TOKEN_IDS ? { tokenIds: [...tokenIds] } : {};
}

/**
 * The caller's hooks, with the record advanced as the job moves: dispatched when matched, running when accepted, and
 * released (written from then on) at the first token. `onText` also sees every piece before the caller does.
 */
export function recordingHooks(record: ClientJobRecord | undefined, hooks: JobHooks, onText?: JobHooks['onText']): JobHooks {
  return {
    ...hooks,
    onMatched: (provider) => {
      record?.advance('dispatched', { provider });
      hooks.onMatched?.(provider);
    },
    onAccepted: () => {
      record?.advance('running');
      hooks.onAccepted?.();
    },
    onText: (text, tokenIds) => {
      onText?.(text, tokenIds);
      record?.streamed(text, tokenIds);
      hooks.onText?.(text, tokenIds);
    },
  };
}
