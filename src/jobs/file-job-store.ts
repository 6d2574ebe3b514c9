// A JobStore in one append-only JSON-lines file. Each line is an event or the record after it; the file is
// re-read on every query so that several processes sharing a node home (the daemon and a `submit`) see each
// other's jobs. Meant for small nodes and for the time before the node's PocketBase is up. An event's place in
// the job event feed (seq) is its place among the file's event lines: appends keep that order for every reader.
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { JobEvent, JobPatch, JobRecord, JobRole, NewJob, SequencedJobEvent } from './job-record.js';
import { DuplicateJobError, JobNotFoundError, type JobListFilter, type JobStore } from './job-store.js';
import type { JobState } from './state-machine.js';
import { createdJob, movedJob } from './job-step.js';
import { WriteAnnouncer } from './write-announcer.js';

type JobFileLine = { kind: 'event'; event: JobEvent } | { kind: 'job'; job: JobRecord };

const keyOf = (jobId: string, role: JobRole): string => `${role}:${jobId}`;

export class FileJobStore implements JobStore {
  // Serialises this process's writes so that a read-check-append never interleaves with another of ours.
  private queue: Promise<unknown> = Promise.resolve();
  private readonly written = new WriteAnnouncer();

  constructor(private readonly path: string) {}

  create(job: NewJob): Promise<JobRecord> {
    return this.serialised(async () => {
      const { jobs } = await this.load();
      if (jobs.has(keyOf(job.jobId, job.role))) throw new DuplicateJobError(job.jobId, job.role);
      const { event, record } = createdJob(job, Date.now());
      await this.append([{ kind: 'event', event }, { kind: 'job', job: record }]);
      this.written.announce();
      return record;
    });
  }

  transition(jobId: string, role: JobRole, to: JobState, patch: JobPatch = {}, reason?: string): Promise<JobRecord> {
    return this.serialised(async () => {
      const { event, record } = movedJob(await this.require(jobId, role), to, patch, Date.now(), reason);
      // One append, the event first: a reader of the job event feed (another process, or this one's feed between two
      // appends) never finds the event before the record it moved; a write torn by a crash keeps the event line.
      await this.append([{ kind: 'event', event }, { kind: 'job', job: record }]);
      this.written.announce();
      return record;
    });
  }

  update(jobId: string, role: JobRole, patch: JobPatch): Promise<JobRecord> {
    return this.serialised(async () => {
      const current = await this.require(jobId, role);
      const record: JobRecord = { ...current, ...patch, updatedAt: Date.now() };
      await this.append([{ kind: 'job', job: record }]);
      return record;
    });
  }

  async get(jobId: string, role: JobRole): Promise<JobRecord | undefined> {
    return (await this.load()).jobs.get(keyOf(jobId, role));
  }

  async list(filter: JobListFilter = {}): Promise<JobRecord[]> {
    const { jobs } = await this.load();
    const selected = [...jobs.values()]
      .filter((job) => !filter.role || job.role === filter.role)
      .filter((job) => !filter.states || filter.states.includes(job.state))
      .sort((a, b) => b.createdAt - a.createdAt);
    return filter.limit === undefined ? selected : selected.slice(0, filter.limit);
  }

  async events(jobId: string): Promise<JobEvent[]> {
    return (await this.load()).events.filter((event) => event.jobId === jobId).map(withoutSeq);
  }

  async eventsAfter(seq: number, limit: number): Promise<SequencedJobEvent[]> {
    const { events } = await this.load();
    return events.slice(Math.max(0, seq), Math.max(0, seq) + Math.max(0, limit));
  }

  async lastEventSeq(): Promise<number> {
    return (await this.load()).events.length;
  }

  onEventWritten(listener: () => void): () => void {
    return this.written.on(listener);
  }

  async close(): Promise<void> {
    await this.queue.catch(() => undefined);
  }

  private async require(jobId: string, role: JobRole): Promise<JobRecord> {
    const job = (await this.load()).jobs.get(keyOf(jobId, role));
    if (!job) throw new JobNotFoundError(jobId, role);
    return job;
  }

  private async load(): Promise<{ jobs: Map<string, JobRecord>; events: SequencedJobEvent[] }> {
    const jobs = new Map<string, JobRecord>();
    const events: SequencedJobEvent[] = [];
    let text = '';
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    for (const line of text.split('\n')) {
      if (!line) continue;
      let parsed: JobFileLine;
      try {
        parsed = JSON.parse(line) as JobFileLine;
      } catch {
        continue; // a torn last line from a crash mid-write: everything before it is intact
      }
      if (parsed.kind === 'event') events.push({ ...parsed.event, seq: events.length + 1 });
      else jobs.set(keyOf(parsed.job.jobId, parsed.job.role), parsed.job);
    }
    return { jobs, events };
  }

  private async append(lines: JobFileLine[]): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    await appendFile(this.path, lines.map((line) => JSON.stringify(line) + '\n').join(''), { mode: 0o600 });
  }

  private serialised<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

function withoutSeq({ seq: _seq, ...event }: SequencedJobEvent): JobEvent {
  return event;
}
