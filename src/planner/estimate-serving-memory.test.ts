import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ModelDescriptor } from '../models/index.js';
import { estimateActivationBytes, estimateWeightsBytes, kvBytesPerToken, kvHeadsPerGpu } from './estimate-serving-memory.js';
import { blocksForSequences, kvBlocksOnGpu, usableGpuBytes } from './kv-cache-capacity.js';
import { InvalidPlanOptionsError, UnknownWeightSizeError } from './planner-errors.js';
import { LLAMA_3_70B, LLAMA_3_8B, MIXTRAL_8X7B } from './reference-models.js';
import { resolveServingOptions } from './serving-options.js';

const GIB = 1024 ** 3;

describe('kvBytesPerToken: 2 x layers x KV heads x head size x bytes', () => {
  const f16 = resolveServingOptions(LLAMA_3_8B);
  const cases: [string, ModelDescriptor, number, number][] = [
    ['Llama-3-8B, f16: 2 x 32 x 8 x 128 x 2 = 128 KiB', LLAMA_3_8B, 1, 131_072],
    ['Llama-3-70B, f16: 2 x 80 x 8 x 128 x 2 = 320 KiB', LLAMA_3_70B, 1, 327_680],
    ['Mixtral 8x7B, f16: 2 x 32 x 8 x 128 x 2 = 128 KiB', MIXTRAL_8X7B, 1, 131_072],
    ['Llama-3-70B per GPU at tensor parallel 4: 8 / 4 KV heads = 80 KiB', LLAMA_3_70B, 4, 81_920],
    ['Llama-3-8B per GPU at tensor parallel 16: heads replicated, 1 each', LLAMA_3_8B, 16, 16_384],
  ];
  for (const [title, model, tp, bytes] of cases) {
    it(title, () => assert.equal(kvBytesPerToken(model, f16, tp, model.layers), bytes));
  }
  it('halves (and a bit) with a q8_0 cache: 34 bytes per 32 values', () => {
    const q8 = resolveServingOptions(LLAMA_3_8B, { kvCacheType: 'q8_0' });
    assert.equal(kvBytesPerToken(LLAMA_3_8B, q8, 1, 32), (2 * 32 * 8 * 128 * 34) / 32);
  });
  it('gives each GPU at least one KV head', () => {
    assert.deepEqual([kvHeadsPerGpu(8, 2), kvHeadsPerGpu(8, 8), kvHeadsPerGpu(8, 16), kvHeadsPerGpu(1, 4)], [4, 1, 1, 1]);
  });
});

describe('estimateWeightsBytes', () => {
  it('takes the file size when it is known', () => assert.equal(estimateWeightsBytes(LLAMA_3_70B), 140e9));
  it('multiplies parameters by the bytes of the dominant type otherwise: Mixtral 46.7B x 2', () =>
    assert.equal(estimateWeightsBytes(MIXTRAL_8X7B), 93.4e9));
  it('counts Q8_0 as 34 bytes per 32 weights', () =>
    assert.equal(estimateWeightsBytes({ ...MIXTRAL_8X7B, parameterCount: 3.2e9, quantization: { dominantTensorType: 'Q8_0' } }), 3.4e9));
  it('refuses an unknown type without a file size', () =>
    assert.throws(() => estimateWeightsBytes({ ...MIXTRAL_8X7B, quantization: { dominantTensorType: 'XQ9' } }), UnknownWeightSizeError));
});

describe('estimateActivationBytes', () => {
  const options = resolveServingOptions(LLAMA_3_8B);
  it('for Llama-3-8B: 2048 x (2 x 4096 + 3 x 14336) x 2 + 256 x 128256 x 4 + 512 MiB', () =>
    assert.equal(estimateActivationBytes(LLAMA_3_8B, options, 1), 209_715_200 + 131_334_144 + 536_870_912));
  it('counts the experts each token uses in a mixture of experts, split by tensor parallelism', () =>
    assert.equal(estimateActivationBytes(MIXTRAL_8X7B, options, 2), 2048 * (2 * 4096 + (3 * 14336 * 2) / 2) * 2 + 256 * 32000 * 4 + 536_870_912));
});

describe('KV cache capacity of one GPU', () => {
  it('budgets total x utilization, or less when other work holds memory', () => {
    assert.equal(usableGpuBytes({ memoryBytes: 80 * GIB }, 0.9), 72 * GIB);
    assert.equal(usableGpuBytes({ memoryBytes: 80 * GIB, freeBytes: 30 * GIB }, 0.9), 30 * GIB);
  });
  it('cuts what weights and activations leave into whole blocks, and never goes below zero', () => {
    const gpu = { budgetBytes: 10 * GIB, activationBytes: GIB, kvBytesPerToken: 131_072, blockSize: 16 };
    assert.equal(kvBlocksOnGpu({ ...gpu, weightsBytes: 5 * GIB }), (4 * GIB) / (16 * 131_072));
    assert.equal(kvBlocksOnGpu({ ...gpu, weightsBytes: 12 * GIB }), 0);
  });
  it('needs whole blocks per sequence: 8192 tokens = 512 blocks, 8193 = 513', () => {
    assert.equal(blocksForSequences(1, 8192, 16), 512);
    assert.equal(blocksForSequences(2, 8193, 16), 1026);
  });
});

describe('resolveServingOptions', () => {
  it("uses vLLM's defaults and the model's context", () => {
    const o = resolveServingOptions(LLAMA_3_8B);
    assert.deepEqual([o.gpuMemoryUtilization, o.blockSize, o.kvCacheType, o.contextLength], [0.9, 16, 'f16', 8192]);
  });
  const invalid: [string, object][] = [
    ['a utilization above 1', { gpuMemoryUtilization: 1.5 }],
    ['a utilization of 0', { gpuMemoryUtilization: 0 }],
    ['a fractional block size', { blockSize: 2.5 }],
    ['no sequences', { minSequences: 0 }],
    ['an unknown cache type', { kvCacheType: 'int3' }],
  ];
  for (const [what, options] of invalid) {
    it(`refuses ${what}`, () => assert.throws(() => resolveServingOptions(LLAMA_3_8B, options), InvalidPlanOptionsError));
  }
});
