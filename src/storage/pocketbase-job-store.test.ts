import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { describeJobStoreContract } from '../jobs/job-store.contract.js';
import { IllegalJobTransitionError, type JobState } from '../jobs/state-machine.js';
import { connectPocketBase } from './pocketbase-connection.js';
import { PocketBaseJobStore, type JobChange } from './pocketbase-job-store.js';
import { usePocketBaseFixture } from './test-fixture.js';

const pocketBase = usePocketBaseFixture();
const openStore = async (): Promise<PocketBaseJobStore> => new PocketBaseJobStore((await pocketBase()).server.client);

describeJobStoreContract('PocketBaseJobStore', openStore);

const LIFE: readonly JobState[] = ['matched', 'dispatched', 'running', 'completed'];

describe('PocketBaseJobStore', () => {
  it('keeps 50 parallel submissions and their transitions consistent', async () => {
    const store = await openStore();
    const model = `parallel-${randomUUID()}`;
    const ids = Array.from({ length: 50 }, () => randomUUID());
    await Promise.all(
      ids.map(async (jobId) => {
        await store.create({ jobId, role: 'aggregator', model });
        for (const state of LIFE) await store.transition(jobId, 'aggregator', state, { tokens: 7 });
      }),
    );
    const completed = await store.list({ role: 'aggregator', states: ['completed'] });
    assert.equal(completed.filter((job) => job.model === model).length, 50);
    for (const jobId of ids) {
      const events = await store.events(jobId);
      assert.deepEqual(
        events.map((event) => event.to),
        ['created', ...LIFE],
      );
    }
    await store.close();
  });

  it('refuses the second of two racing transitions of one job', async () => {
    const store = await openStore();
    const jobId = randomUUID();
    await store.create({ jobId, role: 'provider', model: 'm' });
    const results = await Promise.allSettled([
      store.transition(jobId, 'provider', 'matched'),
      store.transition(jobId, 'provider', 'matched'),
    ]);
    assert.equal(results.filter((result) => result.status === 'fulfilled').length, 1);
    const refused = results.find((result) => result.status === 'rejected');
    assert.ok(refused?.status === 'rejected' && refused.reason instanceof IllegalJobTransitionError);
    assert.equal((await store.events(jobId)).length, 2);
    await store.close();
  });

  it('refuses the second of two racing transitions made by two processes sharing the backend', async () => {
    const { server } = await pocketBase();
    const daemon = await openStore();
    const cli = await connectPocketBase({ url: server.url, superuser: server.superuser });
    const other = new PocketBaseJobStore(cli.client);
    const jobId = randomUUID();
    await daemon.create({ jobId, role: 'client', model: 'm' });
    const results = await Promise.allSettled([daemon.transition(jobId, 'client', 'cancelled'), other.transition(jobId, 'client', 'cancelled')]);
    assert.equal(results.filter((result) => result.status === 'fulfilled').length, 1);
    assert.deepEqual(
      (await daemon.events(jobId)).map((event) => event.to),
      ['created', 'cancelled'],
    );
    await Promise.all([daemon.close(), other.close(), cli.close()]);
  });

  it('numbers the events of two processes sharing the backend without a gap or a repeat', async () => {
    const { server } = await pocketBase();
    const daemon = await openStore();
    const cli = await connectPocketBase({ url: server.url, superuser: server.superuser });
    const other = new PocketBaseJobStore(cli.client);
    const before = await daemon.lastEventSeq();
    const lives = Array.from({ length: 40 }, (_, i) => ({ store: i % 2 ? other : daemon, jobId: randomUUID() }));
    await Promise.all(
      lives.map(async ({ store, jobId }) => {
        await store.create({ jobId, role: 'provider', model: 'm' });
        for (const state of LIFE) await store.transition(jobId, 'provider', state);
      }),
    );
    const feed = await daemon.eventsAfter(before, 1000);
    assert.deepEqual(
      feed.map((event) => event.seq),
      Array.from({ length: lives.length * (LIFE.length + 1) }, (_, i) => before + 1 + i),
    );
    // Each job's events keep their order in the feed.
    for (const { jobId } of lives) assert.deepEqual(feed.filter((event) => event.jobId === jobId).map((event) => event.to), ['created', ...LIFE]);
    await Promise.all([daemon.close(), other.close(), cli.close()]);
  });

  it('stores every field of a job and clears the ones a patch sets to undefined', async () => {
    const store = await openStore();
    const jobId = randomUUID();
    const key = 'cd'.repeat(32);
    await store.create({ jobId, role: 'client', model: 'm', client: key, aggregator: key });
    await store.transition(jobId, 'client', 'matched', { provider: key });
    await store.transition(jobId, 'client', 'failed', { error: { code: 'timeout', message: 'no answer' }, provider: undefined });
    const job = await store.get(jobId, 'client');
    assert.deepEqual(job?.error, { code: 'timeout', message: 'no answer' });
    assert.equal(job?.client, key);
    assert.equal(job?.aggregator, key);
    assert.equal(job?.provider, undefined);
    const output = 'x'.repeat(100_000);
    const updated = await store.update(jobId, 'client', { output, outputHash: 'ef'.repeat(32), tokens: 3 });
    assert.equal(updated.state, 'failed');
    assert.equal((await store.get(jobId, 'client'))?.output, output);
    await store.close();
  });

  it('delivers a job change to a realtime subscriber', async () => {
    const store = await openStore();
    const jobId = randomUUID();
    const changes: JobChange[] = [];
    let matched = (): void => undefined;
    const seen = new Promise<void>((resolve) => (matched = resolve));
    await store.subscribeJobs((change) => {
      if (change.job.jobId !== jobId) return;
      changes.push(change);
      if (change.job.state === 'matched') matched();
    });
    await store.create({ jobId, role: 'client', model: 'm' });
    await store.transition(jobId, 'client', 'matched');
    await withTimeout(seen, 5_000, 'no realtime change arrived within 5 s');
    assert.deepEqual(
      changes.map((change) => [change.action, change.job.state]),
      [
        ['create', 'created'],
        ['update', 'matched'],
      ],
    );
    await store.close();
  });
});

async function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
