import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { validateNodeConfig } from '../config/index.js';
import type { InferenceBackend } from '../execution/index.js';
import { silentLogger } from '../log/index.js';
import { describeModelFile, writeRandomLlamaGguf } from '../models/index.js';
import { gpuLayersThatFit, ModelExceedsMemoryError, placeEngineMemory } from '../planner/index.js';
import { refuseModelsThatDoNotFit } from './model-memory-check.js';

/**
 * Memory before loading on a GPU (no GPU here: the backend is an H100 with the free VRAM each case gives, as
 * selectInferenceBackend reads it from nvidia-smi), for a model written by the project's GGUF writer.
 */
describe('refuseModelsThatDoNotFit on a GPU: all layers, or the partial offload provider.gpuLayers chose', () => {
  let dir: string;
  let model: string;
  const shape = { name: 'offload-test', layers: 8, hiddenSize: 256, heads: 4, kvHeads: 4, feedForwardLength: 704, vocabularySize: 4096, contextLength: 512 };
  const provider = { contextSize: 512, slots: 2 };
  let parameters: Omit<Parameters<typeof placeEngineMemory>[0], 'gpuLayers'>;
  const h100 = (freeBytes: number): InferenceBackend => ({ gpu: 'cuda', device: 'GPU 0 NVIDIA H100 80GB HBM3', freeBytes });
  const check = (gpuLayers: 'all' | number, backend: InferenceBackend, containerBytes = Infinity) =>
    refuseModelsThatDoNotFit(validateNodeConfig({ role: 'provider', models: [model], provider: { ...provider, gpuLayers } }, 'test'), backend, containerBytes, silentLogger());

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gpu-offload-'));
    model = join(dir, 'offload-test.gguf');
    await writeRandomLlamaGguf(model, shape, { seed: 3, tensorType: 'F32' });
    parameters = { model: await describeModelFile(model), ...provider };
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('accepts every layer on the GPU where they fit', async () => {
    const all = placeEngineMemory({ ...parameters, gpuLayers: 'all' });
    assert.equal((await check('all', h100(all.gpu.totalBytes))).size, 0);
  });

  it('refuses all layers where they do not fit, naming the count that would', async () => {
    const free = placeEngineMemory({ ...parameters, gpuLayers: 5 }).gpu.totalBytes;
    assert.equal(gpuLayersThatFit(parameters, free), 5);
    const refused = (await check('all', h100(free))).get(resolve(model));
    assert.ok(refused instanceof ModelExceedsMemoryError);
    assert.equal(refused.availableBytes, free);
    assert.match(refused.message, /\(all layers on the GPU\) needs .* but GPU 0 NVIDIA H100 80GB HBM3's VRAM has .* free: .*set provider\.gpuLayers: 5 \(of 8 layers\) to keep the rest in RAM, slower$/);
  });

  it('accepts that partial offload once chosen, and refuses it where RAM cannot hold the rest', async () => {
    const placed = placeEngineMemory({ ...parameters, gpuLayers: 5 });
    assert.equal((await check(5, h100(placed.gpu.totalBytes))).size, 0);
    const refused = (await check(5, h100(placed.gpu.totalBytes), placed.ram.totalBytes - 1)).get(resolve(model));
    assert.ok(refused instanceof ModelExceedsMemoryError);
    assert.equal(refused.neededBytes, placed.ram.totalBytes);
    assert.match(refused.message, /\(3 layers kept in RAM by provider\.gpuLayers\) needs .* but the container's memory limit/);
  });
});
