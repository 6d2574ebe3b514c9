import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LlamaCppEngine, ModelLoadError, PromptTooLongError, type GeneratedPiece } from '../inference/index.js';
import { sharedModelPath } from '../models/shared-test-models.js';
import { SamplingParams } from '../protocol/index.js';
import { ContainerDeadlineError, ContainerEngine, JobSlots } from './index.js';
import { useDockerFixture, type DockerFixture } from './test-fixture.js';

const stories = sharedModelPath('stories260K.gguf');
const sampling = (overrides: Partial<SamplingParams> = {}) => SamplingParams.parse({ maxTokens: 48, ...overrides });
const engineOptions = { threads: 1, contextSize: 512 };
const dockerFixture = useDockerFixture();

describe('ContainerEngine on a real Docker engine', () => {
  let fixture: DockerFixture;
  let inProcess: LlamaCppEngine;
  let engine: ContainerEngine;

  before(async () => {
    fixture = await dockerFixture();
    inProcess = new LlamaCppEngine({ ...engineOptions, slots: 1 });
    engine = new ContainerEngine({ docker: fixture.docker, image: fixture.image, nodeId: fixture.nodeId, ...engineOptions, limits: { memoryBytes: 512 * 2 ** 20, cpus: 1 } });
  });
  after(() => inProcess?.close());

  it('generates the same tokens in a container as the in-process engine, greedily and for the same seed', async () => {
    for (const request of [
      { input: { prompt: 'Once upon a time' }, sampling: sampling() },
      { input: { prompt: 'The dog' }, sampling: sampling({ temperature: 1, seed: 7, maxTokens: 64 }) },
    ]) {
      const local = await inProcess.generate({ modelPath: stories, ...request });
      const contained = await engine.generate({ modelPath: stories, ...request });
      assert.deepEqual(contained.tokenIds, local.tokenIds);
      assert.equal(contained.text, local.text);
      assert.equal(contained.promptTokens, local.promptTokens);
      assert.equal(contained.finishReason, local.finishReason);
    }
  });

  it('streams pieces as they are decoded, concatenating to the final text', async () => {
    const pieces: GeneratedPiece[] = [];
    const result = await engine.generate({ modelPath: stories, input: { prompt: 'Once upon a time' }, sampling: sampling(), onText: (piece) => pieces.push(piece) });
    assert.match(result.text, /there was a little girl named Lily/);
    assert.equal(pieces.map((piece) => piece.text).join(''), result.text);
    assert.deepEqual(pieces.flatMap((piece) => piece.tokenIds), result.tokenIds);
    assert.ok(result.firstTokenMs > 0 && result.firstTokenMs <= result.totalMs);
  });

  it('kills the container when the job is cancelled, returning what was streamed so far', async () => {
    const full = await inProcess.generate({ modelPath: stories, input: { prompt: 'Once upon a time' }, sampling: sampling({ maxTokens: 400 }) });
    const controller = new AbortController();
    const result = await engine.generate({
      modelPath: stories,
      input: { prompt: 'Once upon a time' },
      sampling: sampling({ maxTokens: 400 }),
      signal: controller.signal,
      onText: () => controller.abort(),
    });
    assert.equal(result.finishReason, 'cancelled');
    assert.ok(result.tokenIds.length >= 1);
    assert.ok(full.text.startsWith(result.text));
    assert.deepEqual(await fixture.containers(), []);
  });

  it('kills the containers of running jobs when the engine is closed', async () => {
    const closing = new ContainerEngine({ docker: fixture.docker, image: fixture.image, nodeId: fixture.nodeId, ...engineOptions });
    let closed: Promise<void> | undefined;
    const result = await closing.generate({
      modelPath: stories,
      input: { prompt: 'Once upon a time' },
      sampling: sampling({ maxTokens: 400 }),
      onText: () => void (closed ??= closing.close()),
    });
    await closed;
    assert.equal(result.finishReason, 'cancelled');
    assert.deepEqual(await fixture.containers(), []);
  });

  it('kills a job still running at its deadline and says so', async () => {
    const started = performance.now();
    await assert.rejects(engine.generate({ modelPath: stories, input: { prompt: 'Once upon a time' }, sampling: sampling(), deadlineMs: 100 }), ContainerDeadlineError);
    assert.ok(performance.now() - started < 5000);
  });

  it('rebuilds the worker errors the in-process engine would throw', async () => {
    await assert.rejects(engine.generate({ modelPath: '/nonexistent/model.gguf', input: { prompt: 'x' }, sampling: sampling() }), ModelLoadError);
    const tooLong = { modelPath: stories, input: { prompt: 'Once upon a time '.repeat(200) }, sampling: sampling() };
    const local = await inProcess.generate(tooLong).catch((error: unknown) => error);
    assert.ok(local instanceof PromptTooLongError);
    await assert.rejects(engine.generate(tooLong), (error) => {
      assert.ok(error instanceof PromptTooLongError);
      assert.equal(error.message, local.message);
      return true;
    });
  });

  it('runs no more jobs at once than the provider has slots', async () => {
    const slots = new JobSlots(2);
    const bounded = new ContainerEngine({ docker: fixture.docker, image: fixture.image, nodeId: fixture.nodeId, ...engineOptions, slots });
    let mostContainers = 0;
    let mostSlots = 0;
    let polling = true;
    const poll = (async () => {
      while (polling) {
        mostContainers = Math.max(mostContainers, (await fixture.containers()).length);
        mostSlots = Math.max(mostSlots, slots.inUse);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    const prompts = ['Once upon a time', 'A cat', 'The dog', 'Lily saw'];
    const results = await Promise.all(prompts.map((prompt) => bounded.generate({ modelPath: stories, input: { prompt }, sampling: sampling() })));
    polling = false;
    await poll;
    assert.equal(results.length, 4);
    assert.ok(results.every((result) => result.tokenIds.length > 0));
    assert.equal(mostSlots, 2);
    assert.ok(mostContainers <= 2, `saw ${mostContainers} job containers at once`);
    assert.equal(slots.inUse, 0);
  });

  it('leaves no container behind, running or stopped', async () => {
    assert.deepEqual(await fixture.containers(), []);
  });
});
