import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { sharedModelPath } from '../models/shared-test-models.js';
import { SamplingParams } from '../protocol/index.js';
import { LlamaServerEngine } from './llama-server-engine.js';

const modelPath = sharedModelPath('stories260K.gguf');
const prompts = ['Once upon a time', 'The little dog', 'She saw a bird', 'In the garden there was'];
// The end token (2 in this vocabulary) banned, so every job decodes all its tokens.
const sampling = SamplingParams.parse({ maxTokens: 96, logitBias: [[2, -100]] });

interface TimedJob {
  tokenIds: number[];
  text: string;
  firstTokenAt: number;
  endedAt: number;
}

async function timedJob(engine: LlamaServerEngine, prompt: string, signal?: AbortSignal): Promise<TimedJob & { finishReason: string }> {
  let firstTokenAt = 0;
  const result = await engine.generate({
    modelPath,
    input: { prompt },
    sampling,
    onText: (piece) => {
      if (!firstTokenAt && piece.tokenIds.length) firstTokenAt = performance.now();
    },
    ...(signal ? { signal } : {}),
  });
  return { tokenIds: result.tokenIds, text: result.text, finishReason: result.finishReason, firstTokenAt, endedAt: performance.now() };
}

/** Whether every job had its first token before any job ended: they were decoded together, not in turn. */
const overlapped = (jobs: TimedJob[]) => Math.max(...jobs.map((job) => job.firstTokenAt)) < Math.min(...jobs.map((job) => job.endedAt));

describe('llama-server engine slots (continuous batching)', () => {
  const engines: LlamaServerEngine[] = [];
  after(async () => {
    for (const engine of engines) await engine.close();
  });

  it('decodes 4 concurrent greedy jobs together on one llama-server, each with exactly its solo output', async () => {
    const engine = new LlamaServerEngine({ threads: 1, batchThreads: 2, contextSize: 256, slots: 4 });
    engines.push(engine);
    const solo: TimedJob[] = [];
    for (const prompt of prompts) solo.push(await timedJob(engine, prompt));
    const together = await Promise.all(prompts.map((prompt) => timedJob(engine, prompt)));
    for (const [index, job] of together.entries()) {
      assert.equal(job.tokenIds.length, sampling.maxTokens);
      assert.deepEqual(job.tokenIds, solo[index]!.tokenIds, `job ${index} differs from its solo run`);
      assert.equal(job.text, solo[index]!.text);
    }
    assert.ok(overlapped(together), 'the four jobs ran one after another');
  });

  it('with one slot, runs concurrent jobs in turn (what the test above tells apart)', async () => {
    const engine = new LlamaServerEngine({ threads: 1, contextSize: 256 });
    engines.push(engine);
    const jobs = await Promise.all(prompts.slice(0, 2).map((prompt) => timedJob(engine, prompt)));
    assert.ok(!overlapped(jobs));
  });

  it('ends a job cancelled while it waits for a slot as cancelled, and the job in the slot completes', async () => {
    const engine = new LlamaServerEngine({ threads: 1, contextSize: 256, slots: 1 });
    engines.push(engine);
    await engine.preload(modelPath);
    const cancel = new AbortController();
    const running = timedJob(engine, prompts[0]!);
    const waiting = timedJob(engine, prompts[1]!, cancel.signal);
    cancel.abort();
    const [first, second] = await Promise.all([running, waiting]);
    assert.equal(first.finishReason, 'length');
    assert.equal(first.tokenIds.length, sampling.maxTokens);
    assert.equal(second.finishReason, 'cancelled');
    assert.deepEqual(second.tokenIds, []);
  });
});
