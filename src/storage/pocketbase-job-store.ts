// The node's jobs in PocketBase: a row per (jobId, role) in `jobs` and a row per transition in `job_events`.
// A transition sends its event and the job update as one batch, the event first: PocketBase runs a batch as one
// SQLite transaction, so a crash can neither lose an acknowledged event nor change a job without its event.
import { EventSource } from 'eventsource';
import type PocketBase from 'pocketbase';
import type { BatchService, ClientResponseError } from 'pocketbase';
import type { JobEvent, JobPatch, JobRecord, JobRole, NewJob, SequencedJobEvent } from '../jobs/job-record.js';
import { WriteAnnouncer } from '../jobs/write-announcer.js';
import { DuplicateJobError, JobNotFoundError, type JobListFilter, type JobStore } from '../jobs/job-store.js';
import { isLegalTransition, IllegalJobTransitionError, type JobState } from '../jobs/state-machine.js';
import { createdJob, transitionEvent } from '../jobs/job-step.js';
import { KeyedQueue } from '../jobs/keyed-queue.js';
import { COLLECTIONS, type JobEventRow, type JobRow } from './collections.js';
import { jobEventRow, jobKey, newJobRow, patchRow, toJobEvent, toJobRecord, toSequencedJobEvent } from './job-rows.js';
import { PocketBaseRequestError, pocketBaseStatus, wrapRequestError } from './pocketbase-connection.js';

export type JobChangeAction = 'create' | 'update' | 'delete';

export interface JobChange {
  action: JobChangeAction;
  job: JobRecord;
}

export type Unsubscribe = () => Promise<void>;

/** Full-list reads fetch this many rows per request. */
const LIST_PAGE_SIZE = 500;
/** Compare-and-set attempts of one transition against other processes' writes to the same job. */
const TRANSITION_ATTEMPTS = 3;
/** PocketBase answers at most this many rows per page, whatever perPage asks. */
const MAX_PAGE_SIZE = 1000;

export class PocketBaseJobStore implements JobStore {
  private readonly queue = new KeyedQueue();
  private readonly subscriptions = new Set<Unsubscribe>();
  private readonly written = new WriteAnnouncer();
  /**
   * Row id and state of jobs this store wrote last, so a transition is one request (the batch) instead of a read
   * and a batch. Safe when another process moved the job meanwhile: the backend's expectedState guard refuses
   * the batch, the entry is dropped and the transition retried from a fresh read.
   */
  private readonly lastWritten = new Map<string, Pick<JobRow, 'id' | 'state'>>();

  /** `pb` must be authenticated as the superuser: apps may not write jobs past their creation. */
  constructor(private readonly pb: PocketBase) {}

  create(job: NewJob): Promise<JobRecord> {
    return this.queue.run(jobKey(job.jobId, job.role), async () => {
      const { event } = createdJob(job, Date.now());
      const batch = this.pb.createBatch();
      batch.collection(COLLECTIONS.jobEvents).create(jobEventRow(event));
      batch.collection(COLLECTIONS.jobs).create(newJobRow(job, event.to, event.at));
      // The unique index on (jobId, role) refuses a duplicate, from this process or another.
      const jobRow = await this.sendBatch(`create ${job.role} job ${job.jobId}`, batch, (error) =>
        isUniqueViolation(error) ? new DuplicateJobError(job.jobId, job.role) : undefined,
      );
      this.lastWritten.set(jobKey(job.jobId, job.role), { id: jobRow.id, state: jobRow.state });
      this.written.announce();
      return toJobRecord(jobRow);
    });
  }

  transition(jobId: string, role: JobRole, to: JobState, patch: JobPatch = {}, reason?: string): Promise<JobRecord> {
    return this.queue.run(jobKey(jobId, role), async () => {
      for (let attempt = 1; ; attempt++) {
        const moved = await this.tryTransition(jobId, role, to, patch, reason);
        if (moved || attempt >= TRANSITION_ATTEMPTS) return moved ?? this.conflictAfterRetries(jobId, role, to);
      }
    });
  }

  /**
   * One compare-and-set attempt: the backend applies the update only while the job is still in the state read
   * here (backend/job_guard.go). Undefined when another process moved the job in between.
   */
  private async tryTransition(
    jobId: string,
    role: JobRole,
    to: JobState,
    patch: JobPatch,
    reason: string | undefined,
  ): Promise<JobRecord | undefined> {
    const key = jobKey(jobId, role);
    let current = this.lastWritten.get(key);
    // A remembered state that forbids the move may be stale: only a fresh read decides that it is illegal.
    if (!current || !isLegalTransition(current.state, to)) current = await this.requireRow(jobId, role);
    const event = transitionEvent(jobId, role, current.state, to, Date.now(), reason);
    const batch = this.pb.createBatch();
    batch.collection(COLLECTIONS.jobEvents).create(jobEventRow(event));
    batch.collection(COLLECTIONS.jobs).update(current.id, { ...patchRow(patch), state: to, updatedAt: event.at, expectedState: current.state });
    try {
      const row = await this.sendBatch(`move ${role} job ${jobId} to ${to}`, batch);
      this.lastWritten.set(key, { id: row.id, state: row.state });
      this.written.announce();
      return toJobRecord(row);
    } catch (error) {
      this.lastWritten.delete(key);
      if (error instanceof PocketBaseRequestError && isStateConflict(error.cause)) return undefined;
      throw error;
    }
  }

  private async conflictAfterRetries(jobId: string, role: JobRole, to: JobState): Promise<never> {
    const current = await this.requireRow(jobId, role);
    throw new IllegalJobTransitionError(jobId, current.state, to);
  }

  update(jobId: string, role: JobRole, patch: JobPatch): Promise<JobRecord> {
    return this.queue.run(jobKey(jobId, role), async () => {
      const current = await this.requireRow(jobId, role);
      const body = { ...patchRow(patch), updatedAt: Date.now() };
      const row = await this.request(`update ${role} job ${jobId}`, () =>
        this.pb.collection(COLLECTIONS.jobs).update<JobRow>(current.id, body),
      );
      return toJobRecord(row);
    });
  }

  async get(jobId: string, role: JobRole): Promise<JobRecord | undefined> {
    const row = await this.findRow(jobId, role);
    return row && toJobRecord(row);
  }

  async list(filter: JobListFilter = {}): Promise<JobRecord[]> {
    if (filter.states?.length === 0 || (filter.limit !== undefined && filter.limit <= 0)) return [];
    const options = { filter: this.listFilter(filter), sort: '-createdAt,-@rowid' };
    const jobs = this.pb.collection(COLLECTIONS.jobs);
    const { limit } = filter;
    const rows = await this.request('list jobs', async () =>
      limit !== undefined && limit <= MAX_PAGE_SIZE
        ? (await jobs.getList<JobRow>(1, limit, { ...options, skipTotal: true })).items
        : jobs.getFullList<JobRow>({ ...options, batch: LIST_PAGE_SIZE }),
    );
    return rows.slice(0, limit).map(toJobRecord);
  }

  async events(jobId: string): Promise<JobEvent[]> {
    // @rowid breaks ties between events of the same millisecond in the order they were written.
    const rows = await this.request(`read the events of job ${jobId}`, () =>
      this.pb.collection(COLLECTIONS.jobEvents).getFullList<JobEventRow>({
        filter: this.pb.filter('jobId = {:jobId}', { jobId }),
        sort: 'at,@rowid',
        batch: LIST_PAGE_SIZE,
      }),
    );
    return rows.map(toJobEvent);
  }

  async eventsAfter(seq: number, limit: number): Promise<SequencedJobEvent[]> {
    if (limit <= 0) return [];
    // seq is numbered by the backend in the order events were written (backend/job_feed.go).
    const page = await this.request(`read the job event feed after ${seq}`, () =>
      this.pb.collection(COLLECTIONS.jobEvents).getList<JobEventRow>(1, Math.min(limit, MAX_PAGE_SIZE), {
        filter: this.pb.filter('seq > {:seq}', { seq }),
        sort: 'seq',
        skipTotal: true,
      }),
    );
    return page.items.map(toSequencedJobEvent);
  }

  async lastEventSeq(): Promise<number> {
    const page = await this.request('read the job event feed\'s end', () =>
      this.pb.collection(COLLECTIONS.jobEvents).getList<JobEventRow>(1, 1, { sort: '-seq', skipTotal: true, fields: 'seq' }),
    );
    return page.items[0]?.seq ?? 0;
  }

  onEventWritten(listener: () => void): () => void {
    return this.written.on(listener);
  }

  /**
   * Calls back on every change of a job row, whoever made it (this node, another process, an app). Resolves
   * once the subscription is registered with PocketBase, so that changes made after it are not missed.
   */
  async subscribeJobs(callback: (change: JobChange) => void): Promise<Unsubscribe> {
    installEventSource();
    const unsubscribeFromPocketBase = await this.request('subscribe to job changes', () =>
      this.pb.collection(COLLECTIONS.jobs).subscribe<JobRow>('*', (event) => {
        callback({ action: event.action as JobChangeAction, job: toJobRecord(event.record) });
      }),
    );
    const unsubscribe: Unsubscribe = async () => {
      this.subscriptions.delete(unsubscribe);
      await unsubscribeFromPocketBase().catch(() => undefined); // the backend may be gone already
    };
    this.subscriptions.add(unsubscribe);
    return unsubscribe;
  }

  /** Waits for this store's writes and ends its subscriptions; the client (shared) stays open. */
  async close(): Promise<void> {
    await this.queue.idle();
    await Promise.all([...this.subscriptions].map((unsubscribe) => unsubscribe()));
  }

  private async findRow(jobId: string, role: JobRole): Promise<JobRow | undefined> {
    // A list query, not getFirstListItem: a missing job is an answer, not a 404 in PocketBase's error log.
    const page = await this.request(`read ${role} job ${jobId}`, () =>
      this.pb.collection(COLLECTIONS.jobs).getList<JobRow>(1, 1, {
        filter: this.pb.filter('jobId = {:jobId} && role = {:role}', { jobId, role }),
        skipTotal: true,
      }),
    );
    return page.items[0];
  }

  private async requireRow(jobId: string, role: JobRole): Promise<JobRow> {
    const row = await this.findRow(jobId, role);
    if (!row) throw new JobNotFoundError(jobId, role);
    return row;
  }

  private listFilter(filter: JobListFilter): string {
    const clauses: string[] = [];
    if (filter.role) clauses.push(this.pb.filter('role = {:role}', { role: filter.role }));
    if (filter.states) {
      const states = filter.states.map((state) => this.pb.filter('state = {:state}', { state }));
      clauses.push(`(${states.join(' || ')})`);
    }
    return clauses.join(' && ');
  }

  /** Sends a batch whose last request writes the job, and returns the job row PocketBase answered with. */
  private async sendBatch(
    operation: string,
    batch: BatchService,
    refusal: (error: unknown) => Error | undefined = () => undefined,
  ): Promise<JobRow> {
    let results;
    try {
      results = await batch.send();
    } catch (error) {
      throw refusal(error) ?? wrapRequestError(operation, error);
    }
    return results.at(-1)?.body as JobRow;
  }

  private async request<T>(operation: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw wrapRequestError(operation, error);
    }
  }
}

/** The backend's answer (409, nested in the batch's 400) to a job that left the expected state meanwhile. */
function isStateConflict(error: unknown): boolean {
  if (pocketBaseStatus(error) !== 400) return false;
  return JSON.stringify((error as ClientResponseError).response).includes('"status":409');
}

/**
 * A failed batch nests each request's answer (data.requests[i].response.data[field].code); a write refused by a
 * unique index carries the code validation_not_unique somewhere in it.
 */
function isUniqueViolation(error: unknown): boolean {
  if (pocketBaseStatus(error) !== 400) return false;
  return JSON.stringify((error as ClientResponseError).response).includes('"validation_not_unique"');
}

/** The SDK's realtime needs a global EventSource, which Node 22 lacks. */
function installEventSource(): void {
  const global = globalThis as { EventSource?: unknown };
  global.EventSource ??= EventSource;
}
