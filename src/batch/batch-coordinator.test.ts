// The coordinator against a real PocketBase store, with simulated providers: a runner function stands in for
// the aggregator and its provider daemons (the real path runs in test/e2e/batch-*.test.ts), so that speeds,
// failures and hangs can be set exactly.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { silentLogger } from '../log/index.js';
import { JobFailedError, type JobOutcome } from '../client/job-client.js';
import type { JobSpec } from '../protocol/index.js';
import { usePocketBaseFixture } from '../storage/test-fixture.js';
import { BatchCoordinator, type BatchProvider } from './batch-coordinator.js';
import { mergeResults } from './batch-output.js';
import { PocketBaseBatchStore } from './batch-store.js';
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

async function runBatch(count: number, providers: Record<string, Behaviour>, options: { requestTimeoutMs?: number; listed?: () => string[] } = {}) {
  const store = new PocketBaseBatchStore((await pocketbase()).server.client);
  const input = Array.from({ length: count }, (_, index) => JSON.stringify({ custom_id: `r${index}`, method: 'POST', url: '/v1/completions', body: { prompt: `p${index}`, max_tokens: 2, temperature: 0 } })).join('\n');
  const batch = await submitBatch(store, { input, inputName: 'test', model: 'sim', ...(options.requestTimeoutMs ? { requestTimeoutMs: options.requestTimeoutMs } : {}) });
  const ranOn = new Map<number, string[]>();
  const listed = options.listed ?? (() => Object.keys(providers));
  const coordinator = new BatchCoordinator({
    batch,
    requests: await store.requestsOf(batch.batchId),
    store,
    providers: (): BatchProvider[] => listed().map((id) => ({ id, slots: 1 })),
    runRequest: async (spec, provider, signal) => {
      const index = indexOf(spec);
      ranOn.set(index, [...(ranOn.get(index) ?? []), provider]);
      await providers[provider]!(index, spec, signal);
      return outcomeOf(spec, provider);
    },
    logger: silentLogger(),
    tickMs: 20,
  });
  const summary = await coordinator.run();
  const lines = mergeResults(count, await store.resultsOf(batch.batchId)).map((line) => JSON.parse(line) as { custom_id: string; response: { body: { choices: { text: string }[] } } | null; error: { code: string } | null });
  return { summary, lines, ranOn, shards: await store.shardsOf(batch.batchId), batch: await store.getBatch(batch.batchId) };
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
});
