// What an app (a `users` record) may do in the node's PocketBase: read what dashboards show, submit a job,
// and nothing that moves money, reputation or another job.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import type PocketBase from 'pocketbase';
import { COLLECTIONS, type JobRow, type RowBody } from './collections.js';
import { PocketBaseJobStore } from './pocketbase-job-store.js';
import { pocketBaseStatus } from './pocketbase-connection.js';
import { usePocketBaseFixture } from './test-fixture.js';

const pocketBase = usePocketBaseFixture();

function clientJob(jobId: string): RowBody<JobRow> {
  const now = Date.now();
  return {
    jobId,
    role: 'client',
    state: 'created',
    model: 'm',
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
    createdAt: now,
    updatedAt: now,
  };
}

/**
 * PocketBase answers 403 where a rule is superuser-only (nil), 404 where the rule hides the record, and 400
 * where a create rule's condition on the submitted body fails.
 */
async function assertRefused(write: Promise<unknown>, statuses: readonly number[] = [403, 404]): Promise<void> {
  await assert.rejects(write, (error: unknown) => {
    assert.ok(statuses.includes(pocketBaseStatus(error) ?? -1), `expected ${statuses.join(' or ')}, got ${String(error)}`);
    return true;
  });
}

describe('access rules for apps', () => {
  let app: PocketBase;

  it('lets an app submit a job and list the node jobs', async () => {
    const fixture = await pocketBase();
    app = await fixture.signUpApp();
    const nodeJob = randomUUID();
    await new PocketBaseJobStore(fixture.server.client).create({ jobId: nodeJob, role: 'aggregator', model: 'm' });
    const submitted = randomUUID();
    await app.collection(COLLECTIONS.jobs).create(clientJob(submitted));
    const listed = await app.collection(COLLECTIONS.jobs).getFullList<JobRow>();
    assert.ok(listed.some((job) => job.jobId === nodeJob));
    assert.ok(listed.some((job) => job.jobId === submitted));
    const events = await app.collection(COLLECTIONS.jobEvents).getFullList();
    assert.ok(events.length > 0);
  });

  it('lets an app read providers, reputation, content and logs', async () => {
    for (const collection of [COLLECTIONS.providers, COLLECTIONS.reputationEvents, COLLECTIONS.content, COLLECTIONS.logs]) {
      await app.collection(collection).getList(1, 1);
    }
  });

  it('refuses an app a job in any state but created, or for another role', async () => {
    await assertRefused(app.collection(COLLECTIONS.jobs).create({ ...clientJob(randomUUID()), state: 'completed' }), [400]);
    await assertRefused(app.collection(COLLECTIONS.jobs).create({ ...clientJob(randomUUID()), role: 'provider' }), [400]);
  });

  it('refuses an app updating or deleting a job', async () => {
    const { server } = await pocketBase();
    const jobId = randomUUID();
    await new PocketBaseJobStore(server.client).create({ jobId, role: 'provider', model: 'm' });
    const [row] = await app.collection(COLLECTIONS.jobs).getFullList<JobRow>({ filter: app.filter('jobId = {:jobId}', { jobId }) });
    assert.ok(row);
    await assertRefused(app.collection(COLLECTIONS.jobs).update(row.id, { state: 'settled' }));
    await assertRefused(app.collection(COLLECTIONS.jobs).delete(row.id));
  });

  it('refuses an app writing reputation events, payments or job feed cursors, and reading payments, settings or cursors', async () => {
    const now = Date.now();
    await assertRefused(
      app.collection(COLLECTIONS.reputationEvents).create({ provider: 'ab'.repeat(32), kind: 'completed', delta: 100, at: now }),
    );
    await assertRefused(
      app.collection(COLLECTIONS.payments).create({
        jobId: randomUUID(),
        role: 'client',
        direction: 'incoming',
        rail: 'lightning',
        amount: 1_000_000,
        unit: 'sat',
        state: 'released',
        createdAt: now,
        updatedAt: now,
      }),
    );
    await assertRefused(app.collection(COLLECTIONS.payments).getList(1, 1));
    await assertRefused(app.collection(COLLECTIONS.settings).getList(1, 1));
    // Moving a feed reader's place would skip a settlement or replay pushes: the node's alone.
    await assertRefused(app.collection(COLLECTIONS.jobFeedCursors).create({ reader: 'settlement:aggregator', seq: 1e9 }));
    await assertRefused(app.collection(COLLECTIONS.jobFeedCursors).getList(1, 1));
  });

  it('lets only the superuser write reputation events and payments', async () => {
    const { server } = await pocketBase();
    const now = Date.now();
    await server.client.collection(COLLECTIONS.reputationEvents).create({ provider: 'ab'.repeat(32), kind: 'completed', delta: 1, at: now });
    const payment = await server.client.collection(COLLECTIONS.payments).create({
      jobId: randomUUID(),
      role: 'client',
      direction: 'outgoing',
      rail: 'lightning',
      amount: 21,
      unit: 'sat',
      state: 'held',
      createdAt: now,
      updatedAt: now,
    });
    await assertRefused(app.collection(COLLECTIONS.payments).update(payment.id, { state: 'released' }));
  });
});
