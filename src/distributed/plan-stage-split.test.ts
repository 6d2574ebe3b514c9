import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ModelDescriptor } from '../models/index.js';
import { GIB, LLAMA_3_8B } from '../planner/index.js';
import { headArguments } from './llama-server-head.js';
import { planStageSplit, StagesTooSmallError, type PlanStageSplitParameters } from './plan-stage-split.js';

/** Llama-3-8B's published shape, as a Q8_0 file. */
const model: ModelDescriptor = { ...LLAMA_3_8B, quantization: { dominantTensorType: 'Q8_0' }, parameterCount: 8e9, fileSizeBytes: 8.5 * GIB };
const fast = { bandwidthGbps: 800, latencyMs: 0.01 };
const slow = { bandwidthGbps: 10, latencyMs: 0.2 };
const base = (over: Partial<PlanStageSplitParameters>): PlanStageSplitParameters => ({ model, head: 'h', stages: [{ id: 'a', memoryBytes: 8 * GIB }, { id: 'b', memoryBytes: 8 * GIB }], requested: 'auto', ...over });

describe('splitting a model over RPC stages', () => {
  const cases: { name: string; params: PlanStageSplitParameters; mode: 'layer' | 'tensor'; tensorSplit: number[]; explains: RegExp }[] = [
    { name: 'equal stages, links unmeasured: an even pipeline', params: base({}), mode: 'layer', tensorSplit: [0.5, 0.5], explains: /pipeline of 2 stages holding 16 \+ 16 of 32 layers.*not measured/ },
    { name: 'a stage with three times the memory gets three times the layers', params: base({ stages: [{ id: 'a', memoryBytes: 12 * GIB }, { id: 'b', memoryBytes: 4 * GIB }] }), mode: 'layer', tensorSplit: [0.75, 0.25], explains: /24 \+ 8 of 32/ },
    {
      name: 'every link measured fast: tensor parallel, even shares',
      params: base({ links: [{ between: ['h', 'a'], ...fast }, { between: ['h', 'b'], ...fast }, { between: ['b', 'a'], ...fast }] }),
      mode: 'tensor',
      tensorSplit: [0.5, 0.5],
      explains: /tensor parallel over 2 stages/,
    },
    {
      name: 'one slow link: a pipeline',
      params: base({ links: [{ between: ['h', 'a'], ...fast }, { between: ['h', 'b'], ...slow }, { between: ['a', 'b'], ...fast }] }),
      mode: 'layer',
      tensorSplit: [0.5, 0.5],
      explains: /10\.0 Gbit\/s/,
    },
    { name: 'tensor requested over unmeasured links', params: base({ requested: 'tensor' }), mode: 'tensor', tensorSplit: [0.5, 0.5], explains: /requested/ },
    { name: 'three stages cannot split 32 heads: a pipeline even when links are fast', params: base({ stages: [{ id: 'a', memoryBytes: 4 * GIB }, { id: 'b', memoryBytes: 4 * GIB }, { id: 'c', memoryBytes: 4 * GIB }] }), mode: 'layer', tensorSplit: [0.3438, 0.3438, 0.3125], explains: /11 \+ 11 \+ 10/ },
    { name: 'layer requested over fast links', params: base({ requested: 'layer', links: [{ between: ['h', 'a'], ...fast }, { between: ['h', 'b'], ...fast }, { between: ['a', 'b'], ...fast }] }), mode: 'layer', tensorSplit: [0.5, 0.5], explains: /layer split requested/ },
  ];
  for (const { name, params, mode, tensorSplit, explains } of cases) {
    it(name, () => {
      const split = planStageSplit(params);
      assert.equal(split.splitMode, mode);
      assert.deepEqual(split.tensorSplit, tensorSplit);
      assert.match(split.explanation, explains);
    });
  }

  it('counts the output layer when a model has fewer blocks than stages, and refuses more stages than that', () => {
    const oneLayer = { ...model, layers: 1, fileSizeBytes: GIB };
    const split = planStageSplit(base({ model: oneLayer, requested: 'layer' }));
    assert.deepEqual(split.tensorSplit, [0.5, 0.5]);
    assert.match(split.explanation, /1 \+ 1 of 1 layer and the output layer/);
    assert.throws(() => planStageSplit(base({ model: oneLayer, requested: 'layer', stages: [{ id: 'a', memoryBytes: GIB }, { id: 'b', memoryBytes: GIB }, { id: 'c', memoryBytes: GIB }] })), /2 layers cannot fill 3 stages/);
  });

  it('refuses stages whose memory together is below the weights, saying how much is missing', () => {
    assert.throws(() => planStageSplit(base({ stages: [{ id: 'a', memoryBytes: 4 * GIB }, { id: 'b', memoryBytes: 4 * GIB }] })), (error: unknown) => error instanceof StagesTooSmallError && /need 8\.5 GiB but the stages offer 8\.0 GiB/.test(error.message));
    assert.throws(() => planStageSplit(base({ stages: [] })), StagesTooSmallError);
  });

  it('refuses tensor parallelism over a count that does not divide the heads', () => {
    assert.throws(() => planStageSplit(base({ requested: 'tensor', stages: [{ id: 'a', memoryBytes: 4 * GIB }, { id: 'b', memoryBytes: 4 * GIB }, { id: 'c', memoryBytes: 4 * GIB }] })), /32 heads and 8 KV heads/);
  });
});

describe('the llama-server head command line', () => {
  const common = { llamaServer: '/bin/llama-server', modelPath: '/m/model.gguf', threads: 1, contextSize: 512 };
  it('runs a local model on the CPU with nothing offloaded', () => {
    assert.deepEqual(headArguments(common, 4000), ['-m', '/m/model.gguf', '--host', '127.0.0.1', '--port', '4000', '-t', '1', '-c', '512', '-np', '1', '--no-webui']);
  });
  it('decodes several sequences together, each with the context asked for, batches on their own threads', () => {
    assert.deepEqual(headArguments({ ...common, parallel: 4, batchThreads: 2 }, 4000), ['-m', '/m/model.gguf', '--host', '127.0.0.1', '--port', '4000', '-t', '1', '-c', '2048', '-np', '4', '--no-webui', '-tb', '2']);
  });
  it("offloads the layers the provider chose on a GPU (all, or a partial offload), never llama.cpp's own fit", () => {
    assert.deepEqual(headArguments({ ...common, gpuLayers: 'all' }, 4000).slice(13), ['-ngl', 'all']);
    assert.deepEqual(headArguments({ ...common, gpuLayers: 20 }, 4000).slice(13), ['-ngl', '20']);
  });
  it('pipelines over the stages with their shares', () => {
    assert.deepEqual(headArguments({ ...common, rpc: ['127.0.0.1:1', '127.0.0.1:2'], splitMode: 'layer', tensorSplit: [0.75, 0.25] }, 4000).slice(13), ['--rpc', '127.0.0.1:1,127.0.0.1:2', '-ngl', '999', '-sm', 'layer', '--tensor-split', '0.75,0.25']);
  });
  it('turns flash attention on for the tensor split, which needs it', () => {
    assert.deepEqual(headArguments({ ...common, rpc: ['127.0.0.1:1', '127.0.0.1:2'], splitMode: 'tensor', tensorSplit: [0.5, 0.5] }, 4000).slice(13), ['--rpc', '127.0.0.1:1,127.0.0.1:2', '-ngl', '999', '-sm', 'tensor', '-fa', 'on', '--tensor-split', '0.5,0.5']);
  });
});
