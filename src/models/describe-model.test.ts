import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeModel, IncompleteModelMetadataError } from './describe-model.js';
import { describeModelFile } from './describe-model-file.js';
import type { GgufHeader } from './gguf/read-gguf-header.js';
import { sharedModelPath } from './shared-test-models.js';

describe('describeModel', () => {
  it('describes stories260K as its README states: llama, 5 layers, 64 wide, 8 heads over 4 KV heads', async () => {
    assert.deepEqual(await describeModelFile(sharedModelPath('stories260K.gguf')), {
      name: 'llama',
      architecture: 'llama',
      layers: 5,
      hiddenSize: 64,
      heads: 8,
      kvHeads: 4,
      headDim: 8,
      feedForwardLength: 172,
      vocabularySize: 512,
      contextLength: 2048,
      quantization: { dominantTensorType: 'F32' },
      parameterCount: 292_800,
      fileSizeBytes: 1_185_376,
    });
  });

  it('describes llama-2-tiny-random: one 8-wide layer, the full 32k Llama 2 vocabulary, F16', async () => {
    assert.deepEqual(await describeModelFile(sharedModelPath('llama-2-tiny-random.gguf')), {
      name: 'LLaMA v2',
      architecture: 'llama',
      layers: 1,
      hiddenSize: 8,
      heads: 2,
      kvHeads: 2,
      headDim: 4,
      feedForwardLength: 32,
      vocabularySize: 32000,
      contextLength: 4096,
      quantization: { fileType: 'F16', dominantTensorType: 'F16' },
      parameterCount: 513_048,
      fileSizeBytes: 1_750_560,
    });
  });

  it('reports experts of a mixture-of-experts model and per-layer arrays by their largest value', () => {
    const header = headerWith({
      'general.architecture': 'mixtral',
      'mixtral.block_count': 32,
      'mixtral.embedding_length': 4096,
      'mixtral.attention.head_count': 32,
      'mixtral.attention.head_count_kv': { kind: 'array', itemType: 4, length: 3, items: [8, 8, 4] },
      'mixtral.expert_count': 8,
      'mixtral.expert_used_count': 2,
    });
    const model = describeModel(header, 0);
    assert.deepEqual(model.experts, { count: 8, used: 2 });
    assert.equal(model.kvHeads, 8);
    assert.equal(model.headDim, 128);
  });

  it('refuses a header without a block count, naming the missing key', () => {
    const header = headerWith({ 'general.architecture': 'llama', 'llama.embedding_length': 64, 'llama.attention.head_count': 8 });
    assert.throws(() => describeModel(header, 0), (e: unknown) => e instanceof IncompleteModelMetadataError && e.key === 'llama.block_count');
  });
});

function headerWith(metadata: GgufHeader['metadata']): GgufHeader {
  return { version: 3, metadata, tensors: [], alignment: 32, dataOffset: 0 };
}
