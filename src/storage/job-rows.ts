// Between JobRecord (optional fields absent) and the jobs and job_events rows (PocketBase stores '' and 0 for
// unset text and numbers). Consequence: a token count of 0 reads back as absent, like a job that never ran.
import type { JobEvent, JobPatch, JobRecord, JobRole, NewJob, SequencedJobEvent } from '../jobs/job-record.js';
import type { JobState } from '../jobs/state-machine.js';
import type { JobEventRow, JobRow, RowBody } from './collections.js';

type PatchableField = keyof JobPatch;

/** The value a patch field takes in a row when the patch clears it (sets it to undefined). */
const EMPTY_ROW_VALUES: { [Field in PatchableField]-?: RowBody<JobRow>[Field] } = {
  model: '',
  client: '',
  provider: '',
  aggregator: '',
  tokens: 0,
  output: '',
  outputHash: '',
  error: null,
  verification: null,
  owner: null,
  checks: null,
  tokenIds: null,
  specId: '',
  aggregatorAttempts: null,
};

const PATCHABLE_FIELDS = Object.keys(EMPTY_ROW_VALUES) as PatchableField[];

export function newJobRow(job: NewJob, state: JobState, now: number): RowBody<JobRow> {
  return {
    ...EMPTY_ROW_VALUES,
    ...patchRow(job),
    jobId: job.jobId,
    role: job.role,
    state,
    createdAt: now,
    updatedAt: now,
  };
}

/** Only the patchable fields the patch names; anything else it carries at runtime (state, jobId) is ignored. */
export function patchRow(patch: JobPatch): Partial<RowBody<JobRow>> {
  const row: Partial<RowBody<JobRow>> = {};
  for (const field of PATCHABLE_FIELDS) {
    if (!Object.hasOwn(patch, field)) continue;
    Object.assign(row, { [field]: patch[field] ?? EMPTY_ROW_VALUES[field] });
  }
  return row;
}

export function toJobRecord(row: JobRow): JobRecord {
  const record: JobRecord = {
    jobId: row.jobId,
    role: row.role,
    state: row.state,
    model: row.model,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
  if (row.client) record.client = row.client;
  if (row.provider) record.provider = row.provider;
  if (row.aggregator) record.aggregator = row.aggregator;
  if (row.tokens) record.tokens = row.tokens;
  if (row.output) record.output = row.output;
  if (row.outputHash) record.outputHash = row.outputHash;
  if (row.error) record.error = row.error;
  if (row.verification) record.verification = row.verification;
  if (row.owner) record.owner = row.owner;
  if (row.checks) record.checks = row.checks;
  if (row.tokenIds) record.tokenIds = row.tokenIds;
  if (row.specId) record.specId = row.specId;
  if (row.aggregatorAttempts) record.aggregatorAttempts = row.aggregatorAttempts;
  return record;
}

// seq is left out: the backend numbers each event as it is written (backend/job_feed.go).
export function jobEventRow(event: JobEvent): Omit<RowBody<JobEventRow>, 'seq'> {
  return { jobId: event.jobId, role: event.role, from: event.from ?? '', to: event.to, at: event.at, reason: event.reason ?? '' };
}

export function toJobEvent(row: JobEventRow): JobEvent {
  const event: JobEvent = { jobId: row.jobId, role: row.role, from: row.from || null, to: row.to, at: row.at };
  if (row.reason) event.reason = row.reason;
  return event;
}

export function toSequencedJobEvent(row: JobEventRow): SequencedJobEvent {
  return { ...toJobEvent(row), seq: row.seq };
}

export function jobKey(jobId: string, role: JobRole): string {
  return `${role}:${jobId}`;
}
