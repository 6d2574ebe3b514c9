import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { LlamaCppEngine, type GenerationRequest } from '../inference/index.js';
import { sharedModelPath } from '../models/shared-test-models.js';
import { SamplingParams } from '../protocol/index.js';
import { ContainerDeadlineError } from './container-errors.js';
import { EngineCrashedError } from './engine-errors.js';
import { childProcessEngineLauncher } from './engine-process.js';
import { WarmEngine, type WarmEngineEvent, type WarmEngineOptions } from './warm-engine.js';

const stories = sharedModelPath('stories260K.gguf');
const sampling = (overrides: Partial<SamplingParams> = {}) => SamplingParams.parse({ maxTokens: 48, ...overrides });
const PROMPTS = ['Once upon a time', 'The dog', 'Lily wanted', 'One day, a big'];

/** A warm engine whose process is a child of this one, with its events kept. */
function warmEngine(options: Partial<WarmEngineOptions> = {}): WarmEngine & { events: WarmEngineEvent[] } {
  const events: WarmEngineEvent[] = [];
  const engine = new WarmEngine({ launch: childProcessEngineLauncher(), threads: 1, contextSize: 512, slots: 4, onEvent: (event) => events.push(event), ...options });
  return Object.assign(engine, { events });
}

function waitForEvent(engine: { events: WarmEngineEvent[] }, type: WarmEngineEvent['type'], count = 1): Promise<void> {
  return new Promise((resolve) => {
    const poll = setInterval(() => {
      if (engine.events.filter((event) => event.type === type).length >= count) {
        clearInterval(poll);
        resolve();
      }
    }, 10);
  });
}

describe('WarmEngine: one engine process per model, supervised', () => {
  let inProcess: LlamaCppEngine;
  const solo = new Map<string, number[]>();

  before(async () => {
    inProcess = new LlamaCppEngine({ threads: 1, contextSize: 512, slots: 1 });
    for (const prompt of PROMPTS) solo.set(prompt, (await inProcess.generate({ modelPath: stories, input: { prompt }, sampling: sampling() })).tokenIds);
  });
  after(() => inProcess?.close());

  it('loads a model once: a second job of the model loads nothing and generates what the in-process engine does', async () => {
    const engine = warmEngine();
    try {
      const first = await engine.generate({ modelPath: stories, input: { prompt: PROMPTS[0]! }, sampling: sampling() });
      const second = await engine.generate({ modelPath: stories, input: { prompt: PROMPTS[1]! }, sampling: sampling() });
      assert.deepEqual(first.tokenIds, solo.get(PROMPTS[0]!));
      assert.deepEqual(second.tokenIds, solo.get(PROMPTS[1]!));
      const [status] = engine.status();
      assert.equal(status?.loads, 1);
      assert.equal(status?.state, 'ready');
      assert.equal(status?.backend, 'cpu');
      assert.equal(engine.events.filter((event) => event.type === 'loaded').length, 1);
    } finally {
      await engine.close();
    }
  });

  it('runs 4 greedy jobs at once on one loaded model, each returning exactly its solo output', async () => {
    const engine = warmEngine({ slots: 4 });
    try {
      const results = await Promise.all(PROMPTS.map((prompt) => engine.generate({ modelPath: stories, input: { prompt }, sampling: sampling() })));
      results.forEach((result, index) => assert.deepEqual(result.tokenIds, solo.get(PROMPTS[index]!), PROMPTS[index]));
      assert.equal(engine.status()[0]?.loads, 1);
    } finally {
      await engine.close();
    }
  });

  it('continues a generation another provider started (failover replay): the tokens after the replayed ones equal the solo run', async () => {
    const engine = warmEngine();
    try {
      const full = solo.get(PROMPTS[0]!)!;
      const replayed = full.slice(0, 16);
      const rest = await engine.generate({ modelPath: stories, input: { prompt: PROMPTS[0]! }, sampling: sampling({ maxTokens: full.length - replayed.length }), continueFrom: replayed });
      assert.equal(engine.continuesGenerations, true);
      assert.deepEqual(rest.tokenIds, full.slice(replayed.length));
    } finally {
      await engine.close();
    }
  });

  it('keeps each job its own stream, fingerprints, logprobs and grammar', async () => {
    const engine = warmEngine();
    try {
      const request: Omit<GenerationRequest, 'onText'> = { modelPath: stories, input: { prompt: 'Once upon a time' }, sampling: sampling({ format: { type: 'json' }, maxTokens: 40 }), fingerprintTopK: 2, logprobsTopK: 1 };
      const pieces: string[] = [];
      const [warm, local] = await Promise.all([engine.generate({ ...request, onText: (piece) => pieces.push(piece.text) }), inProcess.generate(request)]);
      assert.equal(pieces.join(''), warm.text);
      assert.equal(warm.text, local.text);
      assert.deepEqual(warm.fingerprints, local.fingerprints);
      assert.deepEqual(warm.tokenLogprobs, local.tokenLogprobs);
    } finally {
      await engine.close();
    }
  });

  it('ends a cancelled job with what was streamed, and a job past its deadline with ContainerDeadlineError, the engine serving on', async () => {
    const engine = warmEngine();
    try {
      const controller = new AbortController();
      const cancelled = await engine.generate({ modelPath: stories, input: { prompt: 'Once upon a time' }, sampling: sampling({ maxTokens: 400 }), signal: controller.signal, onText: () => controller.abort() });
      assert.equal(cancelled.finishReason, 'cancelled');
      assert.ok(cancelled.tokenIds.length >= 1 && cancelled.tokenIds.length < 400);
      await assert.rejects(engine.generate({ modelPath: stories, input: { prompt: 'Once upon a time' }, sampling: sampling({ maxTokens: 400 }), deadlineMs: 0 }), ContainerDeadlineError);
      const next = await engine.generate({ modelPath: stories, input: { prompt: PROMPTS[2]! }, sampling: sampling() });
      assert.deepEqual(next.tokenIds, solo.get(PROMPTS[2]!));
      assert.equal(engine.status()[0]?.loads, 1);
    } finally {
      await engine.close();
    }
  });

  it('restarts an engine killed mid-job: its job fails with EngineCrashedError, the error is kept, the next job succeeds', async () => {
    const engine = warmEngine();
    try {
      await engine.preload(stories);
      const loaded = engine.events.find((event) => event.type === 'loaded');
      assert.ok(loaded?.type === 'loaded');
      let killed = false;
      const crashed = engine.generate({
        modelPath: stories,
        input: { prompt: 'Once upon a time' },
        sampling: sampling({ maxTokens: 400 }),
        onText: () => {
          if (!killed) process.kill(Number(loaded.processId), 'SIGKILL');
          killed = true;
        },
      });
      await assert.rejects(crashed, (error: unknown) => error instanceof EngineCrashedError && /killed by SIGKILL/.test(error.message));
      await waitForEvent(engine, 'loaded', 2);
      const next = await engine.generate({ modelPath: stories, input: { prompt: PROMPTS[3]! }, sampling: sampling() });
      assert.deepEqual(next.tokenIds, solo.get(PROMPTS[3]!));
      const [status] = engine.status();
      assert.equal(status?.restarts, 1);
      assert.equal(status?.loads, 2);
      assert.match(status?.lastError?.message ?? '', /EngineCrashedError|killed by SIGKILL/);
      assert.equal(engine.events.find((event) => event.type === 'crashed')?.type, 'crashed');
    } finally {
      await engine.close();
    }
  });

  it('decodes on one libuv pool thread: 4 concurrent jobs on 2 threads spread no decode over the pool (one-thread-pool-thread.ts)', async () => {
    const engine = warmEngine({ threads: 2 });
    try {
      await engine.preload(stories);
      const loaded = engine.events.find((event) => event.type === 'loaded');
      assert.ok(loaded?.type === 'loaded');
      const results = await Promise.all(PROMPTS.map((prompt) => engine.generate({ modelPath: stories, input: { prompt }, sampling: sampling() })));
      results.forEach((result, index) => assert.deepEqual(result.tokenIds, solo.get(PROMPTS[index]!)));
      // libuv starts every pool thread at its first use: the engine process's threads, named by the kernel.
      const tasks = await readdir(`/proc/${loaded.processId}/task`);
      const names = await Promise.all(tasks.map(async (task) => (await readFile(`/proc/${loaded.processId}/task/${task}/comm`, 'utf8').catch(() => '')).trim()));
      assert.equal(names.filter((name) => name === 'libuv-worker').length, 1, names.join(','));
    } finally {
      await engine.close();
    }
  });

  it('reuses the KV cache of a shared prompt prefix across jobs, greedy output identical to a fresh engine without reuse', async () => {
    const system = 'Lily and Ben were friends. They liked to play in the park with a big red ball. '.repeat(8);
    const prompts = [`${system}One day, Lily saw a cat`, `${system}One day, Lily saw a cat`, `${system}Then Ben found a stick`, `${system}The sun was hot and`, `${system}Mom said`];
    const fresh = new Map<string, number[]>();
    for (const prompt of new Set(prompts)) fresh.set(prompt, (await inProcess.generate({ modelPath: stories, input: { prompt }, sampling: sampling() })).tokenIds);
    const engine = warmEngine({ slots: 2 });
    try {
      const first = await engine.generate({ modelPath: stories, input: { prompt: prompts[0]! }, sampling: sampling() });
      assert.equal(engine.status()[0]?.reusedPromptTokens, 0);
      // The same prompt again: all of it but its last token (evaluated again for its logits) comes from the cache.
      const again = await engine.generate({ modelPath: stories, input: { prompt: prompts[1]! }, sampling: sampling() });
      assert.equal(engine.status()[0]?.reusedPromptTokens, again.promptTokens - 1);
      assert.ok(again.promptTokens > 150, `a long prompt: ${again.promptTokens} tokens`);
      // Another ending after the shared system text: the system text's tokens come from the cache.
      const other = await engine.generate({ modelPath: stories, input: { prompt: prompts[2]! }, sampling: sampling() });
      const reusedByOther = engine.status()[0]!.reusedPromptTokens - (again.promptTokens - 1);
      assert.ok(reusedByOther > 140 && reusedByOther < other.promptTokens - 3, `reused ${reusedByOther} of ${other.promptTokens}`);
      // Two at once: one takes the sequence holding the shared prefix, the other a new one (2 slots).
      const [third, fourth] = await Promise.all(prompts.slice(3).map((prompt) => engine.generate({ modelPath: stories, input: { prompt }, sampling: sampling() })));
      [first, again, other, third!, fourth!].forEach((result, index) => assert.deepEqual(result.tokenIds, fresh.get(prompts[index]!), prompts[index]));
      assert.ok(engine.status()[0]!.reusedPromptTokens > again.promptTokens - 1 + reusedByOther + 140);
      assert.equal(engine.status()[0]?.loads, 1);
    } finally {
      await engine.close();
    }
  });

  it('unloads a model after its idle time, and loads it again for the next job', async () => {
    const engine = warmEngine({ idleMs: 20 });
    try {
      await engine.generate({ modelPath: stories, input: { prompt: PROMPTS[0]! }, sampling: sampling({ maxTokens: 4 }) });
      await waitForEvent(engine, 'unloaded');
      assert.equal(engine.status()[0]?.state, 'stopped');
      await engine.generate({ modelPath: stories, input: { prompt: PROMPTS[0]! }, sampling: sampling({ maxTokens: 4 }) });
      assert.equal(engine.status()[0]?.loads, 2);
    } finally {
      await engine.close();
    }
  });
});
