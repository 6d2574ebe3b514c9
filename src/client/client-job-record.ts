// The client's record of a job it runs, kept in the node's store (`infernet jobs`). Nothing is written before the
// first token (or the job's end): on a small machine the store's writes compete with the job for the CPU, and
// measured about 12 ms of first-token latency when they ran alongside.
import { JobProgressRecorder, type JobPatch, type JobState, type JobStore, type NewJob } from '../jobs/index.js';
import type { Logger } from '../log/index.js';
import { currentProcessIdentity } from '../processes/index.js';
import type { JobHooks } from './job-client.js';

export class ClientJobRecord {
  private chain: Promise<unknown>;
  private readonly recorder: JobProgressRecorder;
  private open!: () => void;

  constructor(
    store: JobStore,
    job: NewJob,
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

  /** Lets the queued writes go: at the first token, or when the job ends without one. */
  release(): void {
    this.open();
  }

  /** Settles when every transition queued so far is written (or warned about). */
  async written(): Promise<void> {
    await this.chain;
  }

  private warn(error: Error): void {
    this.logger.warn({ err: error.message }, 'cannot record the client job');
  }
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
      record?.release();
      hooks.onText?.(text, tokenIds);
    },
  };
}
