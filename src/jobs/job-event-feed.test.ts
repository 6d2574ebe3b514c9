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

/** The real file store, counting its reads of the feed (what the feed costs per write). */
class CountingFileJobStore extends FileJobStore {
  feedReads = 0;
  override eventsAfter(seq: number, limit: number): Promise<SequencedJobEvent[]> {
    this.feedReads += 1;
    return super.eventsAfter(seq, limit);
  }
}

/** The real cursor file, counting its writes. */
class CountingFeedCursors extends FileFeedCursors {
  writes = 0;
  override write(reader: string, seq: number): Promise<void> {
    this.writes += 1;
    return super.write(reader, seq);
  }
}

describe('JobEventFeed', () => {
  it('reads the store once for the readers one write wakes together, and each still sees every event of a burst', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'infernet-feed-'));
    const store = new CountingFileJobStore(join(dir, 'jobs.jsonl'));
    const feed = new JobEventFeed({ store, cursors: new FileFeedCursors(join(dir, 'cursors.json')), logger: silentLogger() });
    const readers = ['payments', 'pushes', 'ratings', 'metrics'].map((name) => new RecordingReader(name, name === 'metrics' ? 'live' : 'persisted'));
    for (const reader of readers) feed.follow(reader);
    await feed.start();
    await feed.caughtUp();
    const before = store.feedReads;
    await store.create({ jobId: 'a', role: 'aggregator', model: 'm' });
    await feed.caughtUp();
    // One shared read for the four readers (and caughtUp's own look at the end reads no events).
    assert.equal(store.feedReads - before, 1);
    await runJob(store, 'b');
    await feed.caughtUp();
    for (const reader of readers) assert.deepEqual(reader.seen, ['a created', 'b created', 'b matched', 'b dispatched', 'b running', 'b completed'], reader.name);
    await feed.close();
  });

  it('writes a persisted cursor when its reader handled an event, not for every event it passes over', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'infernet-feed-'));
    const open = () => ({ store: new FileJobStore(join(dir, 'jobs.jsonl')), cursors: new CountingFeedCursors(join(dir, 'cursors.json')) });
    const first = open();
    const feed = new JobEventFeed({ ...first, logger: silentLogger() });
    const completions = new RecordingReader('payments', 'persisted', (event) => event.to === 'completed');
    feed.follow(completions);
    await feed.start();
    const placed = first.cursors.writes; // a reader new to the node is placed at the end, once
    for (const jobId of ['a', 'b', 'c']) {
      await first.store.create({ jobId, role: 'aggregator', model: 'm' });
      await feed.caughtUp();
    }
    assert.equal(first.cursors.writes, placed, 'nothing handled: nothing written');
    await first.store.transition('a', 'aggregator', 'matched');
    await first.store.transition('a', 'aggregator', 'dispatched');
    await first.store.transition('a', 'aggregator', 'running');
    await first.store.transition('a', 'aggregator', 'completed');
    await feed.caughtUp();
    assert.equal(first.cursors.writes, placed + 1);
    await feed.close();
    // Restarted: the events passed over since are read again and skipped again; the handled one is not handed twice.
    await first.store.create({ jobId: 'd', role: 'aggregator', model: 'm' });
    const second = open();
    const again = new JobEventFeed({ ...second, logger: silentLogger() });
    const restarted = new RecordingReader('payments', 'persisted', (event) => event.to === 'completed');
    again.follow(restarted);
    await again.start();
    await again.caughtUp();
    assert.deepEqual(restarted.seen, []);
    await again.close();
  });


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
