// The coordinator against a real PocketBase store, with simulated providers: a runner function stands in for
// the aggregator and its provider daemons (the real path runs in test/e2e/batch-*.test.ts), so that speeds,
// failures and hangs can be set exactly.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { silentLogger } from '../log/index.js';
import { JobFailedError, type JobOutcome } from '../client/job-client.js';
import type { JobSpec } from '../protocol/index.js';
import { usePocketBaseFixture } from '../storage/test-fixture.js';
import { BatchCoordinator, BatchProgressUnsavedError, type BatchProvider } from './batch-coordinator.js';
import { mergeResults } from './batch-output.js';
import { BatchNotCancellableError, PocketBaseBatchStore, type BatchStore } from './batch-store.js';
import { submitBatch } from './submit-batch.js';

const pocketbase = usePocketBaseFixture();

type Behaviour = (index: number, spec: JobSpec, signal: AbortSignal) => Promise<void>;

const wait = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const indexOf = (spec: JobSpec) => Number(spec.jobId.split('-').at(-2));
const outcomeOf = (spec: JobSpec, provider: string): JobOutcome => ({
  jobId: spec.jobId,
  status: 'completed',
  output: `answer ${indexOf(spec)}`,
  provider,
  providerNpub: provider,
  tokens: 1,
  tokenIds: [1],
  finishReason: 'length',
  engine: 'simulated',
  promptTokens: 1,
  resultEventId: 'e',
  outputHash: '00',
  firstTokenMs: 1,
  lastTokenMs: 1,
  totalMs: 1,
});

interface RunOptions {
  requestTimeoutMs?: number;
  listed?: () => string[];
  /** The owner cancels the batch once this many requests have answered (0: before it runs). */
  cancelAfter?: number;
  /** The store the coordinator writes through (a fault-injecting wrapper of the real one). */
  storeOf?: (store: PocketBaseBatchStore) => BatchStore;
}

async function runBatch(count: number, providers: Record<string, Behaviour>, options: RunOptions = {}) {
  const real = new PocketBaseBatchStore((await pocketbase()).server.client);
  const store = options.storeOf?.(real) ?? real;
  const input = Array.from({ length: count }, (_, index) => JSON.stringify({ custom_id: `r${index}`, method: 'POST', url: '/v1/completions', body: { prompt: `p${index}`, max_tokens: 2, temperature: 0 } })).join('\n');
  const batch = await submitBatch(store, { input, inputName: 'test', model: 'sim', ...(options.requestTimeoutMs ? { requestTimeoutMs: options.requestTimeoutMs } : {}) });
  const ranOn = new Map<number, string[]>();
  const listed = options.listed ?? (() => Object.keys(providers));
  let answered = 0;
  if (options.cancelAfter === 0) await real.requestCancel(batch.batchId);
  const coordinator = new BatchCoordinator({
    batch,
    requests: await store.requestsOf(batch.batchId),
    store,
    providers: (): BatchProvider[] => listed().map((id) => ({ id, slots: 1 })),
    runRequest: async (spec, provider, signal) => {
      const index = indexOf(spec);
      ranOn.set(index, [...(ranOn.get(index) ?? []), provider]);
      await providers[provider]!(index, spec, signal);
      if (++answered === options.cancelAfter) await real.requestCancel(batch.batchId);
      return outcomeOf(spec, provider);
    },
    logger: silentLogger(),
    tickMs: 20,
  });
  const summary = await coordinator.run();
  const lines = mergeResults(count, await real.resultsOf(batch.batchId)).map((line) => JSON.parse(line) as { custom_id: string; response: { body: { choices: { text: string }[] } } | null; error: { code: string } | null });
  return { summary, lines, ranOn, shards: await real.shardsOf(batch.batchId), batch: await real.getBatch(batch.batchId), store: real };
}

describe('BatchCoordinator (simulated providers, real PocketBase store)', () => {
  it('a fast provider that runs dry steals the tail of a slow one, and every request is answered once in order', async () => {
    const { summary, lines, ranOn, shards, batch } = await runBatch(60, { fast: () => wait(2), slow: () => wait(60) });
    assert.equal(summary.state, 'completed');
    assert.equal(batch.state, 'completed');
    assert.deepEqual(lines.map((line) => line.custom_id), Array.from({ length: 60 }, (_, index) => `r${index}`));
    assert.deepEqual(lines.map((line) => line.response?.body.choices[0]?.text), Array.from({ length: 60 }, (_, index) => `answer ${index}`));
    assert.ok([...ranOn.values()].every((runs) => runs.length === 1), 'no request ran twice');
    const onFast = [...ranOn.values()].filter((runs) => runs[0] === 'fast').length;
    assert.ok(onFast > 40, `the fast provider ran ${onFast} of 60 (planned 30)`);
    assert.ok(shards.some((shard) => shard.provider === 'slow' && /taken by a faster provider/.test(shard.reason)), 'the slow shard records the steal');
  });

  it('a provider that drops out mid-shard: its shard is failed and its requests run on the other provider', async () => {
    let alive = true;
    const { lines, ranOn, shards } = await runBatch(
      40,
      {
        steady: () => wait(5),
        dying: async (index) => {
          await wait(5);
          if (index >= 3 || !alive) {
            alive = false;
            throw new JobFailedError('x', 'provider_unreachable', 'the provider disconnected before the job finished');
          }
        },
      },
      { listed: () => (alive ? ['steady', 'dying'] : ['steady']) },
    );
    assert.equal(lines.length, 40);
    assert.ok(lines.every((line) => line.error === null), 'every request answered');
    const retried = [...ranOn.entries()].filter(([, runs]) => runs.length > 1);
    assert.ok(retried.length >= 1 && retried.every(([, runs]) => runs.at(-1) === 'steady'));
    assert.ok(shards.some((shard) => shard.provider === 'dying' && shard.state === 'failed' && /provider_unreachable/.test(shard.reason)));
    assert.ok(shards.some((shard) => shard.provider === 'steady' && shard.attempt === 1 && shard.state === 'completed'), 'the retry shard ran on the other provider');
  });

  it('a provider that never answers: the request times out and is retried elsewhere', async () => {
    const { lines, ranOn } = await runBatch(
      6,
      {
        good: () => wait(2),
        hung: (_index, _spec, signal) => new Promise<void>((_, reject) => signal.addEventListener('abort', () => reject(new JobFailedError('x', 'cancelled', 'cancelled by the client')))),
      },
      { requestTimeoutMs: 1000 },
    );
    assert.ok(lines.every((line) => line.error === null));
    assert.ok([...ranOn.values()].some((runs) => runs[0] === 'hung' && runs.at(-1) === 'good'));
  });

  it('a request that fails on every provider gets an error line; the others are unaffected', async () => {
    const broken: Behaviour = async (index) => {
      if (index === 3) throw new JobFailedError('x', 'engine_failed', 'the prompt is longer than the context');
    };
    const { lines, ranOn, batch } = await runBatch(8, { a: broken, b: broken });
    assert.deepEqual(lines[3]!.error, { code: 'engine_failed', message: 'the prompt is longer than the context' });
    assert.equal(lines.filter((line) => line.error).length, 1);
    assert.equal(ranOn.get(3)!.length, 2, 'tried twice, then given up');
    assert.deepEqual([batch.completed, batch.failed], [7, 1]);
  });

  it('a cancel asked mid-run aborts the requests in flight, starts no other, and ends the batch cancelled with a line for every request', async () => {
    /** What the providers saw, in order: the coordinator aborts the requests in flight when it sees the cancel. */
    const events: string[] = [];
    const provider: Behaviour = (index, _spec, signal) =>
      new Promise((resolve, reject) => {
        events.push('start');
        const timer = setTimeout(resolve, 40);
        signal.addEventListener('abort', () => {
          clearTimeout(timer);
          events.push('abort');
          reject(new JobFailedError('x', 'cancelled', 'the client cancelled the job'));
        });
      });
    const { summary, lines, ranOn, shards, batch } = await runBatch(60, { a: provider, b: provider }, { cancelAfter: 6 });
    assert.equal(summary.state, 'cancelled');
    assert.equal(batch.state, 'cancelled');
    assert.ok(batch.cancelRequestedAt && batch.finishedAt && batch.finishedAt >= batch.cancelRequestedAt);
    const answers = lines.filter((line) => line.response);
    const cancelled = lines.filter((line) => line.error?.code === 'batch_cancelled');
    assert.ok(answers.length >= 6, `the answers that came before the cancel are kept (${answers.length})`);
    assert.equal(answers.length + cancelled.length, 60, 'every other request is a batch_cancelled line');
    assert.deepEqual([batch.completed, batch.failed, batch.cancelled], [answers.length, cancelled.length, cancelled.length]);
    assert.ok(events.includes('abort'), 'the requests in flight were aborted, not waited for');
    assert.ok(events.lastIndexOf('start') < events.indexOf('abort'), 'no request started once the cancel was seen');
    assert.ok(ranOn.size < 60, `the rest never ran (${ranOn.size} of 60 did)`);
    assert.ok([...ranOn.values()].every((runs) => runs.length === 1), 'an aborted request is not retried');
    assert.ok(shards.every((shard) => shard.state !== 'running' && shard.state !== 'pending'), 'no shard is left open');
  });

  it('a batch cancelled before it runs ends cancelled without running a request; a cancel of an ended batch is refused', async () => {
    const { summary, lines, ranOn, batch, store } = await runBatch(5, { a: () => wait(1) }, { cancelAfter: 0 });
    assert.equal(summary.state, 'cancelled');
    assert.equal(ranOn.size, 0);
    assert.deepEqual(lines.map((line) => line.error?.code), Array(5).fill('batch_cancelled'));
    assert.deepEqual([batch.completed, batch.failed, batch.cancelled], [0, 5, 5]);
    assert.equal((await store.requestCancel(batch.batchId)).state, 'cancelled', 'cancelling a cancelled batch again answers it');
    const completed = await runBatch(2, { a: () => wait(1) });
    await assert.rejects(completed.store.requestCancel(completed.batch.batchId), BatchNotCancellableError);
  });

  it('results the store does not take leave the batch open to resume, never completed with lines missing', async () => {
    // A store whose result writes fail (a full disk, a PocketBase that went away): everything else is the real store.
    const failingResults = (store: PocketBaseBatchStore): BatchStore =>
      Object.assign(Object.create(store) as BatchStore, { appendResults: () => Promise.reject(new Error('disk full')) });
    await assert.rejects(runBatch(3, { a: () => wait(1) }, { storeOf: failingResults }), BatchProgressUnsavedError);
    const store = new PocketBaseBatchStore((await pocketbase()).server.client);
    const [latest] = await store.listBatches();
    assert.equal(latest!.state, 'running', 'it resumes at the next start');
  });
});
