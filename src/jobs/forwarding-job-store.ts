// The base of the job-store decorators (metrics, settlement, phone pushes): every call goes to the store it
// wraps; a decorator overrides only the calls it watches.
import type { JobEvent, JobPatch, JobRecord, JobRole, NewJob } from './job-record.js';
import type { JobListFilter, JobStore } from './job-store.js';
import type { JobState } from './state-machine.js';

export class ForwardingJobStore implements JobStore {
  constructor(protected readonly inner: JobStore) {}

  create(job: NewJob): Promise<JobRecord> {
    return this.inner.create(job);
  }

  transition(jobId: string, role: JobRole, to: JobState, patch?: JobPatch, reason?: string): Promise<JobRecord> {
    return this.inner.transition(jobId, role, to, patch, reason);
  }

  update(jobId: string, role: JobRole, patch: JobPatch): Promise<JobRecord> {
    return this.inner.update(jobId, role, patch);
  }

  get(jobId: string, role: JobRole): Promise<JobRecord | undefined> {
    return this.inner.get(jobId, role);
  }

  list(filter?: JobListFilter): Promise<JobRecord[]> {
    return this.inner.list(filter);
  }

  events(jobId: string): Promise<JobEvent[]> {
    return this.inner.events(jobId);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
