import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkEngineFits, estimateEngineMemory, gpuLayersThatFit, placeEngineMemory } from './estimate-engine-memory.js';
import { ModelExceedsMemoryError } from './planner-errors.js';
import { LLAMA_3_8B } from './reference-models.js';

const MiB = 2 ** 20;
const GiB = 2 ** 30;

describe('estimateEngineMemory: weights + KV cache for contextSize x slots + compute and runtime', () => {
  it('sizes Llama-3-8B in bf16 with 4 slots of 4096 tokens on the CPU', () => {
    const estimate = estimateEngineMemory({ model: LLAMA_3_8B, contextSize: 4096, slots: 4, device: 'cpu' });
    // 2 (K and V) x 32 layers x 8 KV heads x 128 x 2 bytes = 128 KiB a token, x 4096 tokens x 4 slots.
    assert.equal(estimate.kvCacheBytes, 2 * GiB);
    assert.equal(estimate.weightsBytes, 16.06e9);
    // 512 batch tokens x (2 x 4096 + 3 x 14336) x 2 bytes + 4 slots x 128256 logits x 4 bytes + 128 MiB.
    assert.equal(estimate.overheadBytes, 52_428_800 + 2_052_096 + 128 * MiB);
    assert.equal(estimate.totalBytes, 16.06e9 + 2 * GiB + 52_428_800 + 2_052_096 + 128 * MiB);
  });

  it('grows the KV cache with slots and context, and the overhead with a GPU runtime', () => {
    const one = estimateEngineMemory({ model: LLAMA_3_8B, contextSize: 2048, slots: 1, device: 'cpu' });
    const eight = estimateEngineMemory({ model: LLAMA_3_8B, contextSize: 2048, slots: 8, device: 'cpu' });
    assert.equal(eight.kvCacheBytes, 8 * one.kvCacheBytes);
    const q8 = estimateEngineMemory({ model: LLAMA_3_8B, contextSize: 2048, slots: 1, device: 'cpu', kvCacheType: 'q8_0' });
    assert.equal(q8.kvCacheBytes, (one.kvCacheBytes * 34) / 64);
    const gpu = estimateEngineMemory({ model: LLAMA_3_8B, contextSize: 2048, slots: 1, device: 'gpu' });
    assert.equal(gpu.overheadBytes - one.overheadBytes, 384 * MiB);
  });
});

describe('checkEngineFits: a model is refused before it loads, with what it needs and what there is', () => {
  const estimate = estimateEngineMemory({ model: LLAMA_3_8B, contextSize: 4096, slots: 4, device: 'cpu' });
  const cases: { available: number; where: string; fits: boolean }[] = [
    { available: 32 * GiB, where: 'free RAM', fits: true },
    { available: estimate.totalBytes, where: 'free RAM', fits: true },
    { available: estimate.totalBytes - 1, where: 'free RAM', fits: false },
    { available: 16 * GiB, where: 'free RAM', fits: false },
    { available: 4 * GiB, where: "the container's memory limit", fits: false },
  ];
  for (const { available, where, fits } of cases) {
    it(`${fits ? 'accepts' : 'refuses'} Llama-3-8B (${Math.ceil(estimate.totalBytes / MiB)} MiB) with ${Math.floor(available / MiB)} MiB in ${where}`, () => {
      const check = () => checkEngineFits({ model: 'Llama-3-8B', estimate, availableBytes: available, where });
      if (fits) return check();
      assert.throws(check, (error: unknown) => {
        assert.ok(error instanceof ModelExceedsMemoryError);
        assert.equal(error.neededBytes, estimate.totalBytes);
        assert.equal(error.availableBytes, available);
        assert.match(error.message, new RegExp(`^Llama-3-8B needs 17544 MiB \\(weights 15317 MiB, KV cache 2048 MiB, compute and runtime 180 MiB\\) but ${where} has ${Math.ceil(available / MiB)} MiB free`));
        return true;
      });
    });
  }
});

describe('placeEngineMemory: some layers on the GPU, the rest and their KV cache in RAM (provider.gpuLayers)', () => {
  const parameters = { model: LLAMA_3_8B, contextSize: 4096, slots: 4 };
  const whole = estimateEngineMemory({ ...parameters, device: 'gpu' });
  const cpu = estimateEngineMemory({ ...parameters, device: 'cpu' });

  it('puts everything on the GPU with all layers, as the whole-model estimate does, and nothing in RAM', () => {
    for (const gpuLayers of ['all', 32, 999] as const) {
      const placed = placeEngineMemory({ ...parameters, gpuLayers });
      assert.deepEqual(placed.gpu, whole);
      assert.equal(placed.ram.totalBytes, 0);
      assert.equal(placed.gpuLayers, 32);
    }
  });

  it('splits weights and KV cache by share of layers, keeps compute buffers and the CUDA context on the GPU', () => {
    const placed = placeEngineMemory({ ...parameters, gpuLayers: 24 });
    assert.equal(placed.gpu.weightsBytes, Math.round((whole.weightsBytes * 24) / 32));
    assert.equal(placed.gpu.kvCacheBytes, 1.5 * GiB);
    assert.equal(placed.gpu.overheadBytes, whole.overheadBytes);
    assert.equal(placed.ram.weightsBytes + placed.gpu.weightsBytes, whole.weightsBytes);
    assert.equal(placed.ram.kvCacheBytes, 0.5 * GiB);
    assert.equal(placed.ram.overheadBytes, cpu.overheadBytes);
    const none = placeEngineMemory({ ...parameters, gpuLayers: 0 });
    assert.equal(none.gpu.totalBytes, whole.overheadBytes, 'with no layer offloaded the GPU still holds its runtime');
    assert.equal(none.ram.totalBytes, cpu.totalBytes);
  });

  it('finds the most layers that fit in the VRAM given, exactly at the boundary', () => {
    for (const layers of [0, 1, 17, 31, 32]) {
      const needed = placeEngineMemory({ ...parameters, gpuLayers: layers }).gpu.totalBytes;
      assert.equal(gpuLayersThatFit(parameters, needed), layers);
      if (layers > 0) assert.equal(gpuLayersThatFit(parameters, needed - 1), layers - 1);
    }
    assert.equal(gpuLayersThatFit(parameters, 80 * GiB), 32);
    assert.equal(gpuLayersThatFit(parameters, 100 * MiB), -1, 'not even the CUDA context');
  });
});
