// One step of a job's life as a pure function: from the job's record and a move, the event that is persisted first
// and the record after it. Both stores write through it (write-ahead: the event before the record); what follows
// from a step (payment, rating, push, metrics) reads the persisted events from the job event feed.
import type { JobEvent, JobPatch, JobRecord, JobRole, NewJob } from './job-record.js';
import { assertTransition, type JobState } from './state-machine.js';

export interface JobStep {
  event: JobEvent;
  record: JobRecord;
}

/** A new job: its creation event and its first record. */
export function createdJob(job: NewJob, at: number): JobStep {
  const state = job.state ?? 'created';
  return { event: { jobId: job.jobId, role: job.role, from: null, to: state, at }, record: { ...job, state, createdAt: at, updatedAt: at } };
}

/** The event of a move from `from` to `to`; throws IllegalJobTransitionError when the state machine forbids it. */
export function transitionEvent(jobId: string, role: JobRole, from: JobState, to: JobState, at: number, reason?: string): JobEvent {
  assertTransition(jobId, from, to);
  return { jobId, role, from, to, at, ...(reason ? { reason } : {}) };
}

/** A move of a job: its event, and its record with the patch applied. */
export function movedJob(current: JobRecord, to: JobState, patch: JobPatch, at: number, reason?: string): JobStep {
  const event = transitionEvent(current.jobId, current.role, current.state, to, at, reason);
  return { event, record: { ...current, ...patch, state: to, updatedAt: at } };
}
