import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ModelDescriptor } from '../models/index.js';
import { uniformNode, type Cluster } from './cluster.js';
import { validTensorParallelSizes } from './deployment-layouts.js';
import { parseGpuSpec } from './parse-gpu-spec.js';
import { planDeployment, type DeploymentPlan } from './plan-deployment.js';
import { ModelDoesNotFitError } from './planner-errors.js';
import { LLAMA_3_70B, LLAMA_3_8B, MIXTRAL_8X7B } from './reference-models.js';

const GIB = 1024 ** 3;

// vLLM sizes its KV cache as: blocks = floor((total x utilization - weights - peak activation - runtime)
// / (block size x 2 x layers x KV heads per GPU x head size x dtype bytes)), the smallest over all workers.
// Our activation stand-in is 2048 x (2 x hidden + 3 x ffn / tp) x 2 + 256 x vocab x 4 + 512 MiB runtime.
// Each number below is worked out by hand from that formula; the planner must arrive at the same ones.
describe('KV capacity cross-checked against the vLLM formula', () => {
  it('Llama-3-8B bf16 on one 80 GiB GPU at 0.9: 28,787 blocks, 460,592 tokens, 56 x 8k sequences', () => {
    // budget 0.9 x 80 GiB = 77,309,411,328; weights 16,060,000,000;
    // activation 2048 x (8192 + 43008) x 2 = 209,715,200 + logits 256 x 128256 x 4 = 131,334,144 + 536,870,912
    // left 60,371,491,072 / (16 x 131,072 = 2,097,152 per block) = 28,787.37
    const plan = planDeployment(LLAMA_3_8B, parseGpuSpec('1x80GB'));
    assertCapacity(plan, { kvBlocks: 28_787, maxConcurrentTokens: 460_592, maxConcurrentSequences: 56 });
    assert.equal(plan.memory.kvBytesPerToken, 128 * 1024);
  });

  it('Llama-3-70B bf16 (140 GB) on 2 x 80 GiB, tensor parallel 2: 2,440 blocks, 4 x 8k sequences', () => {
    // per GPU: weights 70,000,000,000; activation 2048 x (16384 + 3 x 28672 / 2) x 2 = 243,269,632
    // + 131,334,144 + 536,870,912; left 6,397,936,640; KV per token per GPU 2 x 80 x 4 x 128 x 2 = 163,840
    // 6,397,936,640 / (16 x 163,840) = 2,440.6
    const plan = planDeployment(LLAMA_3_70B, parseGpuSpec('8x80GB'));
    assertCapacity(plan, { kvBlocks: 2_440, maxConcurrentTokens: 39_040, maxConcurrentSequences: 4 });
  });

  it('Llama-3-70B asked for 10 sequences takes tensor parallel 4: 31,651 blocks, 61 x 8k sequences', () => {
    // per GPU: weights 35e9; activation 2048 x (16384 + 21504) x 2 = 155,189,248 + 131,334,144 + 536,870,912
    // left 41,486,017,024; KV per token per GPU 2 x 80 x 2 x 128 x 2 = 81,920; / (16 x 81,920) = 31,651.3
    const plan = planDeployment(LLAMA_3_70B, parseGpuSpec('8x80GB'), { minSequences: 10 });
    assert.equal(plan.tensorParallelSize, 4);
    assertCapacity(plan, { kvBlocks: 31_651, maxConcurrentTokens: 506_416, maxConcurrentSequences: 61 });
  });

  it('Mixtral 8x7B (46.7B x 2 bytes) on 2 x 80 GiB, tensor parallel 2: 28,448 blocks, 13 x 32k sequences', () => {
    // per GPU: weights 46,700,000,000; activation 2048 x (8192 + 3 x 14336 x 2 experts / 2) x 2 = 209,715,200
    // + logits 256 x 32000 x 4 = 32,768,000 + 536,870,912; left 29,830,057,216;
    // KV per token per GPU 2 x 32 x 4 x 128 x 2 = 65,536; / (16 x 65,536) = 28,448.2; 455,168 / 32,768 = 13.9
    const plan = planDeployment(MIXTRAL_8X7B, parseGpuSpec('2x80GB'));
    assertCapacity(plan, { kvBlocks: 28_448, maxConcurrentTokens: 455_168, maxConcurrentSequences: 13 });
  });

  it('Llama-3-70B over two one-GPU nodes: 40 layers each, 2,373 blocks', () => {
    // per stage: weights 70e9; activation (tp 1) 2048 x (16384 + 86016) x 2 = 419,430,400 + 131,334,144
    // + 536,870,912; left 6,221,775,872; KV per token 2 x 40 x 8 x 128 x 2 = 163,840; / 2,621,440 = 2,373.4
    const plan = planDeployment(LLAMA_3_70B, parseGpuSpec('80GB,80GB'));
    assertCapacity(plan, { kvBlocks: 2_373, maxConcurrentTokens: 37_968, maxConcurrentSequences: 4 });
  });
});

interface Expected {
  strategy: DeploymentPlan['strategy'];
  tp: number;
  pp: number;
  stages: [string, number[], number, number][];
}

describe('planDeployment decision tree', () => {
  const pcie = (measuredGbps?: number) => ({ kind: 'pcie' as const, ...(measuredGbps === undefined ? {} : { measuredGbps }) });
  const cases: [string, ModelDescriptor, Cluster, object, Expected][] = [
    ['serves a model that fits on one GPU from that GPU', LLAMA_3_8B, parseGpuSpec('8x80GB'), {},
      { strategy: 'single', tp: 1, pp: 1, stages: [['node-1', [0], 0, 32]] }],
    ['picks the GPU with the most free memory for a single-GPU plan', LLAMA_3_8B,
      { nodes: [{ id: 'busy', gpus: [{ memoryBytes: 80 * GIB, freeBytes: 10 * GIB }], intraLink: pcie() }, uniformNode('idle', 1, 24 * GIB, pcie())] }, {},
      { strategy: 'single', tp: 1, pp: 1, stages: [['idle', [0], 0, 32]] }],
    ['uses tensor parallelism inside an NVLink node when one GPU is too small', LLAMA_3_70B, parseGpuSpec('8x80GB'), {},
      { strategy: 'tensor', tp: 2, pp: 1, stages: [['node-1', [0, 1], 0, 80]] }],
    ['takes tensor parallelism over PCIe when it was measured fast enough', LLAMA_3_70B,
      { nodes: [uniformNode('box', 4, 80 * GIB, pcie(450))] }, {},
      { strategy: 'tensor', tp: 2, pp: 1, stages: [['box', [0, 1], 0, 80]] }],
    ['pipelines the GPUs of a PCIe node instead of splitting tensors over it', LLAMA_3_70B, parseGpuSpec('4x80GB:pcie'), {},
      { strategy: 'pipeline', tp: 1, pp: 2, stages: [['node-1', [0], 0, 40], ['node-1', [1], 40, 80]] }],
    ['pipelines an NVLink node measured slower than the threshold', LLAMA_3_70B,
      { nodes: [uniformNode('slow', 2, 80 * GIB, { kind: 'nvlink', measuredGbps: 100 })] }, {},
      { strategy: 'pipeline', tp: 1, pp: 2, stages: [['slow', [0], 0, 40], ['slow', [1], 40, 80]] }],
    ['pipelines across one-GPU nodes', LLAMA_3_70B, parseGpuSpec('80GB,80GB,80GB'), {},
      { strategy: 'pipeline', tp: 1, pp: 2, stages: [['node-1', [0], 0, 40], ['node-2', [0], 40, 80]] }],
    ['splits layers by free memory: 72, 43.2 and 43.2 GiB usable take 36, 22 and 22 of 80', LLAMA_3_70B,
      parseGpuSpec('80GB,48GB,48GB'), {},
      // quotas 80 x (budget - 1,087,635,456 activation) / sum = 36.55, 21.72, 21.72
      { strategy: 'pipeline', tp: 1, pp: 3, stages: [['node-1', [0], 0, 36], ['node-2', [0], 36, 58], ['node-3', [0], 58, 80]] }],
    ['goes hybrid when neither one node nor single-GPU stages hold it', LLAMA_3_70B, parseGpuSpec('2x40GB,2x40GB'), {},
      { strategy: 'hybrid', tp: 2, pp: 2, stages: [['node-1', [0, 1], 0, 40], ['node-2', [0, 1], 40, 80]] }],
    ['grows to tensor 8 x pipeline 2 on two 8-GPU nodes when 200 sequences are asked for', LLAMA_3_70B,
      parseGpuSpec('8x80GB,8x80GB'), { minSequences: 200 },
      { strategy: 'hybrid', tp: 8, pp: 2, stages: [['node-1', [0, 1, 2, 3, 4, 5, 6, 7], 0, 40], ['node-2', [0, 1, 2, 3, 4, 5, 6, 7], 40, 80]] }],
  ];
  for (const [title, model, cluster, options, expected] of cases) {
    it(title, () => {
      const plan = planDeployment(model, cluster, options);
      assert.deepEqual(
        { strategy: plan.strategy, tp: plan.tensorParallelSize, pp: plan.pipelineParallelSize,
          stages: plan.stages.map((s) => [s.node, s.gpus, ...s.layerRange]) },
        expected,
      );
    });
  }

  it('refuses a model larger than the cluster with ModelDoesNotFitError, saying needed vs available', () => {
    assert.throws(
      () => planDeployment(LLAMA_3_70B, parseGpuSpec('1x24GB')),
      (e: unknown) =>
        e instanceof ModelDoesNotFitError &&
        e.availableBytes === 0.9 * 24 * GIB &&
        // 140e9 weights + 8192 x 327,680 KV + 1,087,635,456 activation and runtime
        e.neededBytes === 140e9 + 8192 * 327_680 + 1_087_635_456 &&
        /needs at least 133\.9 GiB .* offers 21\.6 GiB usable \(1 GPU at 90%\)/.test(e.message),
    );
  });

  it('refuses when memory adds up but no layout works, and says why', () => {
    assert.throws(
      () => planDeployment(LLAMA_3_70B, parseGpuSpec('1x80GB,1x48GB,1x24GB')),
      (e: unknown) => e instanceof ModelDoesNotFitError && e.neededBytes < e.availableBytes && /No layout of these GPUs/.test(e.message),
    );
  });

  it('gives llama.cpp a tensor split per GPU that sums to 1', () => {
    assert.deepEqual(planDeployment(LLAMA_3_70B, parseGpuSpec('2x40GB,2x40GB')).tensorSplit, [0.25, 0.25, 0.25, 0.25]);
    assert.deepEqual(planDeployment(LLAMA_3_70B, parseGpuSpec('80GB,48GB,48GB')).tensorSplit, [0.45, 0.275, 0.275]);
    assert.deepEqual(planDeployment(LLAMA_3_8B, parseGpuSpec('1x80GB')).tensorSplit, [1]);
  });

  it('explains the plan in one line, with the slowest measured hop of a pipeline', () => {
    const cluster: Cluster = {
      nodes: parseGpuSpec('80GB,80GB').nodes,
      links: [{ between: ['node-2', 'node-1'], bandwidthGbps: 10, latencyMs: 4 }],
    };
    const { explanation } = planDeployment(LLAMA_3_70B, cluster);
    assert.equal(
      explanation,
      "Llama-3-70B (130.4 GiB) is too large for one GPU or one node's fast-linked GPUs: pipeline of 2 one-GPU stages, " +
        'layers by free memory (node-1 layers 0-39, node-2 layers 40-79; slowest hop 10 Gb/s, 4 ms): ' +
        '2,373 KV blocks of 16 tokens = 37,968 tokens, 4 concurrent sequences of 8,192 tokens',
    );
    assert.ok(!explanation.includes('\n'));
  });

  it('fits more blocks with a q8_0 cache: 34 bytes per 32 values instead of 2 bytes each', () => {
    // 0.9 x 24 GiB - 16.06e9 weights - 877,920,256 activation and runtime = 6,254,903,142.4 bytes for the cache
    // f16: / (16 x 131,072) = 2,982.6; q8_0: / (16 x 69,632) = 5,614.3
    assert.equal(planDeployment(LLAMA_3_8B, parseGpuSpec('1x24GB')).kvBlocks, 2_982);
    assert.equal(planDeployment(LLAMA_3_8B, parseGpuSpec('1x24GB'), { kvCacheType: 'q8_0' }).kvBlocks, 5_614);
  });
});

describe('validTensorParallelSizes', () => {
  const cases: [number, number, number[]][] = [
    [32, 8, [2, 4, 8]],
    [64, 8, [2, 4, 8]],
    [12, 4, [2, 4]], // 12 heads do not split 8 ways
    [40, 10, [2]], // 10 KV heads neither split nor replicate evenly over 4 or 8
    [32, 1, [2, 4, 8]], // multi-query: the one KV head is replicated
    [6, 6, [2]],
  ];
  for (const [heads, kvHeads, sizes] of cases) {
    it(`allows ${sizes.join(', ')} for ${heads} heads over ${kvHeads} KV heads`, () =>
      assert.deepEqual(validTensorParallelSizes({ ...LLAMA_3_8B, heads, kvHeads }), sizes));
  }
});

function assertCapacity(plan: DeploymentPlan, expected: Pick<DeploymentPlan, 'kvBlocks' | 'maxConcurrentTokens' | 'maxConcurrentSequences'>): void {
  assert.deepEqual(
    { kvBlocks: plan.kvBlocks, maxConcurrentTokens: plan.maxConcurrentTokens, maxConcurrentSequences: plan.maxConcurrentSequences },
    expected,
  );
}

