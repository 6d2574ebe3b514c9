// Embed jobs on the warm engine: the engine process (here a child process, as in Docker a container) computes the
// same bytes as the in-process engine, keeps serving generations beside them, and refuses too many values.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { EmbeddingTooLargeError, LlamaCppEngine } from '../inference/index.js';
import { sharedModelPath } from '../models/shared-test-models.js';
import { embeddingVectorsOf, SamplingParams } from '../protocol/index.js';
import { childProcessEngineLauncher } from './engine-process.js';
import { WarmEngine } from './warm-engine.js';

const stories = sharedModelPath('stories260K.gguf');
const TEXTS = ['Once upon a time', 'The dog ran to the park'];

describe('WarmEngine: embed jobs in the engine process', () => {
  let inProcess: LlamaCppEngine;
  let warm: WarmEngine;

  before(() => {
    inProcess = new LlamaCppEngine({ threads: 1, contextSize: 512, slots: 1 });
    warm = new WarmEngine({ launch: childProcessEngineLauncher(), threads: 1, contextSize: 512, slots: 2 });
  });
  after(async () => {
    await warm?.close();
    await inProcess?.close();
  });

  it('computes the bytes the in-process engine computes, one vector per text of the model’s dimension', async () => {
    const expected = await inProcess.embed({ modelPath: stories, texts: TEXTS });
    const result = await warm.embed({ modelPath: stories, texts: TEXTS });
    assert.equal(result.dimensions, 64);
    assert.equal(result.vectors.length, 2);
    assert.equal(embeddingVectorsOf(result.vectors).sha256, embeddingVectorsOf(expected.vectors).sha256);
    assert.equal(result.promptTokens, expected.promptTokens);
  });

  it('generates on the same model process between embed jobs', async () => {
    const generated = await warm.generate({ modelPath: stories, input: { prompt: TEXTS[0]! }, sampling: SamplingParams.parse({ maxTokens: 8 }) });
    assert.equal(generated.tokenIds.length, 8);
    assert.equal(warm.status()[0]?.loads, 1, 'one load served both kinds');
  });

  it('refuses a job of more values than one result carries, before evaluating it', async () => {
    await assert.rejects(warm.embed({ modelPath: stories, texts: TEXTS, maxValues: 100 }), /make 128 values, over the 100/);
    await assert.rejects(inProcess.embed({ modelPath: stories, texts: TEXTS, maxValues: 100 }), EmbeddingTooLargeError);
  });
});
