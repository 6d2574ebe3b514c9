// The behaviour every JobStore must show, as a test suite that each implementation's test file runs.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import type { JobStore } from './job-store.js';
import { IllegalJobTransitionError } from './state-machine.js';

export function describeJobStoreContract(name: string, openStore: () => Promise<JobStore>): void {
  describe(`${name} honours the JobStore contract`, () => {
    it('creates a job in the created state and reads it back', async () => {
      const store = await openStore();
      const jobId = randomUUID();
      await store.create({ jobId, role: 'client', model: 'stories260K' });
      const job = await store.get(jobId, 'client');
      assert.equal(job?.state, 'created');
      assert.equal(job?.model, 'stories260K');
      await store.close();
    });

    it('records every transition as an event in order', async () => {
      const store = await openStore();
      const jobId = randomUUID();
      await store.create({ jobId, role: 'aggregator', model: 'm' });
      await store.transition(jobId, 'aggregator', 'matched', { provider: 'ab'.repeat(32) });
      await store.transition(jobId, 'aggregator', 'dispatched');
      await store.transition(jobId, 'aggregator', 'running');
      await store.transition(jobId, 'aggregator', 'completed', { tokens: 12 }, 'result verified');
      const job = await store.get(jobId, 'aggregator');
      assert.equal(job?.state, 'completed');
      assert.equal(job?.tokens, 12);
      assert.equal(job?.provider, 'ab'.repeat(32));
      const events = await store.events(jobId);
      assert.deepEqual(
        events.map((event) => [event.from, event.to]),
        [
          [null, 'created'],
          ['created', 'matched'],
          ['matched', 'dispatched'],
          ['dispatched', 'running'],
          ['running', 'completed'],
        ],
      );
      assert.equal(events.at(-1)?.reason, 'result verified');
      await store.close();
    });

    it("keeps a run's verification record through verifying and out of it", async () => {
      const store = await openStore();
      const jobId = randomUUID();
      const verification = { policy: { kind: 'redundant', k: 2 } as const, resultEventId: 'e'.repeat(64), price: { amount: '125', currency: 'USDC', per: '1k_tokens' } as const, verdictDeadline: 1_700_000_600_000 };
      await store.create({ jobId, role: 'aggregator', model: 'm', state: 'running' });
      await store.transition(jobId, 'aggregator', 'verifying', { outputHash: 'ab'.repeat(32), tokens: 24, verification });
      const [waiting] = (await store.list({ role: 'aggregator', states: ['verifying'] })).filter((job) => job.jobId === jobId);
      assert.deepEqual(waiting?.verification, verification);
      await store.transition(jobId, 'aggregator', 'failed', { verification: { ...verification, verdict: 'failed', verdictJobId: jobId } });
      assert.equal((await store.get(jobId, 'aggregator'))?.verification?.verdict, 'failed');
      await store.close();
    });

    it("keeps a client job's owner process, and none for a job created without one", async () => {
      const store = await openStore();
      const [owned, plain] = [randomUUID(), randomUUID()];
      const owner = { pid: 4242, start: '123456' };
      await store.create({ jobId: owned, role: 'client', model: 'm', state: 'running', owner });
      await store.create({ jobId: plain, role: 'client', model: 'm' });
      assert.deepEqual((await store.get(owned, 'client'))?.owner, owner);
      assert.deepEqual((await store.list({ role: 'client', states: ['running'] })).find((job) => job.jobId === owned)?.owner, owner);
      assert.equal((await store.get(plain, 'client'))?.owner, undefined);
      await store.close();
    });

    it("keeps a client job's streamed text and token ids as they grow, and a provider job's accepted spec id", async () => {
      const store = await openStore();
      const [client, provider] = [randomUUID(), randomUUID()];
      await store.create({ jobId: client, role: 'client', model: 'm', state: 'running' });
      await store.update(client, 'client', { output: 'Once upon', tokenIds: [9038, 2501], tokens: 2 });
      const aggregatorAttempts = [{ endpoint: 'ws://127.0.0.1:1', pubkey: 'cd'.repeat(32), outcome: 'lost' as const }, { endpoint: 'ws://127.0.0.1:2', outcome: 'refused' as const }];
      await store.transition(client, 'client', 'cancelled', { output: 'Once upon a time', tokenIds: [9038, 2501, 263, 931], tokens: 4, aggregatorAttempts });
      const ended = await store.get(client, 'client');
      assert.deepEqual([ended?.output, ended?.tokenIds, ended?.tokens, ended?.aggregatorAttempts], ['Once upon a time', [9038, 2501, 263, 931], 4, aggregatorAttempts]);
      const specId = 'ab'.repeat(32);
      await store.create({ jobId: provider, role: 'provider', model: 'm', state: 'running', specId });
      await store.transition(provider, 'provider', 'completed', { tokens: 4 });
      assert.equal((await store.get(provider, 'provider'))?.specId, specId);
      assert.equal((await store.get(provider, 'provider'))?.tokenIds, undefined);
      await store.close();
    });

    it('refuses an illegal transition and leaves the job unchanged', async () => {
      const store = await openStore();
      const jobId = randomUUID();
      await store.create({ jobId, role: 'provider', model: 'm' });
      await assert.rejects(store.transition(jobId, 'provider', 'settled'), IllegalJobTransitionError);
      assert.equal((await store.get(jobId, 'provider'))?.state, 'created');
      assert.equal((await store.events(jobId)).length, 1);
      await store.close();
    });

    it('refuses a second job with the same id and role', async () => {
      const store = await openStore();
      const jobId = randomUUID();
      await store.create({ jobId, role: 'client', model: 'm' });
      await assert.rejects(store.create({ jobId, role: 'client', model: 'm' }), /already exists/);
      await store.close();
    });

    it('keeps concurrent transitions of different jobs consistent', async () => {
      const store = await openStore();
      const ids = Array.from({ length: 20 }, () => randomUUID());
      await Promise.all(ids.map((jobId) => store.create({ jobId, role: 'client', model: 'm' })));
      await Promise.all(ids.map((jobId) => store.transition(jobId, 'client', 'matched')));
      const matched = await store.list({ role: 'client', states: ['matched'] });
      for (const jobId of ids) assert.ok(matched.some((job) => job.jobId === jobId));
      await store.close();
    });

    it('lists most recent first and honours the limit', async () => {
      const store = await openStore();
      const first = randomUUID();
      const second = randomUUID();
      await store.create({ jobId: first, role: 'client', model: 'm' });
      await new Promise((resolve) => setTimeout(resolve, 5));
      await store.create({ jobId: second, role: 'client', model: 'm' });
      const [latest] = await store.list({ role: 'client', limit: 1 });
      assert.equal(latest?.jobId, second);
      await store.close();
    });

    it('feeds its events in the order written, numbered, after any place and in pages', async () => {
      const store = await openStore();
      const announced: number[] = [];
      const stopListening = store.onEventWritten(() => announced.push(announced.length));
      const before = await store.lastEventSeq();
      const jobId = randomUUID();
      await store.create({ jobId, role: 'provider', model: 'm' });
      for (const to of ['matched', 'dispatched', 'running', 'completed'] as const) await store.transition(jobId, 'provider', to);
      await store.update(jobId, 'provider', { tokens: 3 }); // not an event
      stopListening();
      await store.transition(jobId, 'provider', 'settled');
      assert.equal(announced.length, 5, 'each event written is announced, an update is not');
      const feed = (await store.eventsAfter(before, 100)).filter((event) => event.jobId === jobId);
      assert.deepEqual(
        feed.map((event) => event.to),
        ['created', 'matched', 'dispatched', 'running', 'completed', 'settled'],
      );
      for (let i = 1; i < feed.length; i++) assert.ok(feed[i]!.seq > feed[i - 1]!.seq, 'seq grows in the order written');
      assert.equal(await store.lastEventSeq(), feed.at(-1)!.seq);
      const afterThird = await store.eventsAfter(feed[2]!.seq, 2);
      assert.deepEqual(
        afterThird.map((event) => event.seq),
        [feed[3]!.seq, feed[4]!.seq],
      );
      assert.deepEqual(await store.eventsAfter(feed.at(-1)!.seq, 100), []);
      await store.close();
    });
  });
}
