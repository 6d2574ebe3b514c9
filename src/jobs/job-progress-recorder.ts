// Records a job's progress from event callbacks that fire without waiting for each other: transitions are
// queued in order and missing steps of the main line are filled in.
import type { JobPatch, JobRole } from './job-record.js';
import type { JobStore } from './job-store.js';
import { forwardPath, type JobState } from './state-machine.js';

export class JobProgressRecorder {
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: JobStore,
    private readonly jobId: string,
    private readonly role: JobRole,
    private state: JobState = 'created',
  ) {}

  /** Queues the move to `to`; the returned promise settles when it (and everything before it) is stored. */
  advance(to: JobState, patch: JobPatch = {}, reason?: string): Promise<void> {
    this.chain = this.chain.then(async () => {
      if (this.state === to) return;
      for (const step of forwardPath(this.state, to)) {
        await this.store.transition(this.jobId, this.role, step, step === to ? patch : {}, step === to ? reason : undefined);
        this.state = step;
      }
    });
    return this.chain;
  }
}
