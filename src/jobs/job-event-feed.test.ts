import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { silentLogger } from '../log/index.js';
import { FileFeedCursors } from './file-feed-cursors.js';
import { FileJobStore } from './file-job-store.js';
import { JobEventFeed, JobFeedStartedError, type JobFeedReader } from './job-event-feed.js';
import type { JobRecord, SequencedJobEvent } from './job-record.js';

/** A node home's job file and cursor file, opened again as a restarted node opens them. */
async function nodeFiles() {
  const dir = await mkdtemp(join(tmpdir(), 'infernet-feed-'));
  return { open: () => ({ store: new FileJobStore(join(dir, 'jobs.jsonl')), cursors: new FileFeedCursors(join(dir, 'cursors.json')) }) };
}

/** Records what it is handed: `${jobId} ${to}` and the job's state at handling time. */
class RecordingReader implements JobFeedReader {
  readonly seen: string[] = [];
  readonly jobStates: (string | undefined)[] = [];
  constructor(
    readonly name: string,
    readonly start: 'persisted' | 'live',
    private readonly only: (event: SequencedJobEvent) => boolean = () => true,
  ) {}
  wants(event: SequencedJobEvent): boolean {
    return this.only(event);
  }
  handle(event: SequencedJobEvent, job: JobRecord | undefined): void {
    this.seen.push(`${event.jobId} ${event.to}`);
    this.jobStates.push(job?.state);
  }
}

async function runJob(store: FileJobStore, jobId: string): Promise<void> {
  await store.create({ jobId, role: 'aggregator', model: 'm' });
  for (const to of ['matched', 'dispatched', 'running', 'completed'] as const) await store.transition(jobId, 'aggregator', to);
}

describe('JobEventFeed', () => {
  it('hands a persisted reader, after a restart, the events written while the node was down and none it had handled', async () => {
    const files = await nodeFiles();
    const first = files.open();
    const before = new JobEventFeed({ ...first, logger: silentLogger() });
    const beforeReader = new RecordingReader('payments', 'persisted', (event) => event.to === 'completed');
    before.follow(beforeReader);
    await before.start();
    await runJob(first.store, 'a');
    await before.caughtUp();
    assert.deepEqual(beforeReader.seen, ['a completed']);
    await before.close();
    // Down: another process (a CLI on the same home) finishes a job; nobody follows the feed meanwhile.
    await runJob(files.open().store, 'b');
    const second = files.open();
    const after = new JobEventFeed({ ...second, logger: silentLogger() });
    const afterReader = new RecordingReader('payments', 'persisted', (event) => event.to === 'completed');
    after.follow(afterReader);
    await after.start();
    await after.caughtUp();
    assert.deepEqual(afterReader.seen, ['b completed']);
    assert.deepEqual(afterReader.jobStates, ['completed']);
    await after.close();
  });

  it('starts a reader new to the node, and a live reader at every start, at the end of the feed', async () => {
    const files = await nodeFiles();
    const { store, cursors } = files.open();
    await runJob(store, 'old');
    const feed = new JobEventFeed({ store, cursors, logger: silentLogger() });
    const fresh = new RecordingReader('pushes', 'persisted');
    const live = new RecordingReader('metrics', 'live');
    feed.follow(fresh);
    feed.follow(live);
    await feed.start();
    await store.create({ jobId: 'new', role: 'client', model: 'm' });
    await feed.caughtUp();
    assert.deepEqual(fresh.seen, ['new created']);
    assert.deepEqual(live.seen, ['new created']);
    assert.throws(() => feed.follow(new RecordingReader('late', 'live')), JobFeedStartedError);
    await feed.close();
  });

  it('finds by polling the events another process wrote, and goes on past a reader that throws', async () => {
    const files = await nodeFiles();
    const { store, cursors } = files.open();
    const feed = new JobEventFeed({ store, cursors, logger: silentLogger(), pollMs: 20 });
    const handled: string[] = [];
    feed.follow({
      name: 'flaky',
      start: 'persisted',
      wants: () => true,
      needsJob: () => false,
      handle: (event) => {
        handled.push(event.to);
        if (event.to === 'matched') throw new Error('the push service is down');
      },
    });
    await feed.start();
    const other = files.open().store; // announces nothing to this feed
    await runJob(other, 'x');
    for (let wait = 0; wait < 200 && handled.length < 5; wait++) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.deepEqual(handled, ['created', 'matched', 'dispatched', 'running', 'completed']);
    await feed.close();
    assert.equal(await cursors.read('flaky'), await store.lastEventSeq());
  });

  it('reads a long backlog in pages, in order', async () => {
    const files = await nodeFiles();
    const { store, cursors } = files.open();
    const feed = new JobEventFeed({ store, cursors, logger: silentLogger(), pageSize: 7 });
    const reader = new RecordingReader('backlog', 'persisted', (event) => event.to === 'created');
    feed.follow(reader);
    await feed.start();
    const ids = Array.from({ length: 60 }, (_, i) => `job-${String(i).padStart(2, '0')}`);
    for (const jobId of ids) await store.create({ jobId, role: 'client', model: 'm' });
    await feed.caughtUp();
    assert.deepEqual(
      reader.seen,
      ids.map((jobId) => `${jobId} created`),
    );
    await feed.close();
  });
});
