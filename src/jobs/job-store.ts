import type { JobEvent, SequencedJobEvent, JobPatch, JobRecord, JobRole, NewJob } from './job-record.js';
import type { JobState } from './state-machine.js';
import { InfernetError } from '../errors/index.js';

export interface JobListFilter {
  role?: JobRole;
  states?: readonly JobState[];
  /** Most recent first; at most this many. */
  limit?: number;
}

/**
 * Where a node keeps its jobs. Every implementation persists the job_event of a transition before the record
 * changes, and refuses illegal transitions with IllegalJobTransitionError.
 */
export interface JobStore {
  create(job: NewJob): Promise<JobRecord>;
  transition(jobId: string, role: JobRole, to: JobState, patch?: JobPatch, reason?: string): Promise<JobRecord>;
  /** Updates fields without a state change (token counts while running). */
  update(jobId: string, role: JobRole, patch: JobPatch): Promise<JobRecord>;
  get(jobId: string, role: JobRole): Promise<JobRecord | undefined>;
  list(filter?: JobListFilter): Promise<JobRecord[]>;
  events(jobId: string): Promise<JobEvent[]>;
  /** The job event feed (src/jobs/job-event-feed.ts): events written after `seq`, in the order written, at most `limit`. */
  eventsAfter(seq: number, limit: number): Promise<SequencedJobEvent[]>;
  /** The seq of the last event written, by any process sharing this store; 0 when there is none. */
  lastEventSeq(): Promise<number>;
  /**
   * Calls back after each event this store object wrote: the feed's wake-up. Writes by other processes sharing
   * the store are not announced; the feed finds them by polling. Returns the unsubscribe.
   */
  onEventWritten(listener: () => void): () => void;
  close(): Promise<void>;
}

export class JobNotFoundError extends InfernetError {
  override readonly name = 'JobNotFoundError';
  constructor(
    readonly jobId: string,
    readonly role: JobRole,
  ) {
    super('job_not_found', `no ${role} job ${jobId} in this node's store`);
  }
}

export class DuplicateJobError extends InfernetError {
  override readonly name = 'DuplicateJobError';
  constructor(
    readonly jobId: string,
    readonly role: JobRole,
  ) {
    super('duplicate_job', `a ${role} job ${jobId} already exists in this node's store`);
  }
}
