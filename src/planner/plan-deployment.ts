// Decides how to serve a model on a cluster: one GPU if it fits, else tensor parallelism inside one node,
// else a pipeline of stages, else tensor-parallel stages in a pipeline. Within each branch the smallest layout
// that holds `minSequences` full-context sequences wins. Pure: the same inputs always give the same plan.
import type { ModelDescriptor } from '../models/index.js';
import type { Cluster } from './cluster.js';
import { layoutTiers, type DeploymentStrategy, type GpuSlot, type Layout } from './deployment-layouts.js';
import {
  estimateActivationBytes,
  estimateServingMemory,
  kvBytesPerToken,
  type ServingMemoryEstimate,
} from './estimate-serving-memory.js';
import { explainPlan } from './explain-plan.js';
import { formatGibibytes } from './format-bytes.js';
import { blocksForSequences, kvBlocksOnGpu, usableGpuBytes } from './kv-cache-capacity.js';
import { ModelDoesNotFitError } from './planner-errors.js';
import { resolveServingOptions, type ServingOptions } from './serving-options.js';
import { splitLayers, type LayerRange } from './split-layers.js';

export interface PlanStage {
  readonly node: string;
  /** Indexes into the node's GPU list. */
  readonly gpus: readonly number[];
  /** Layers [start, end) this stage runs. */
  readonly layerRange: LayerRange;
  /** This stage's fraction of the layers. */
  readonly share: number;
  readonly kvBlocks: number;
}

export interface DeploymentPlan {
  readonly strategy: DeploymentStrategy;
  readonly tensorParallelSize: number;
  readonly pipelineParallelSize: number;
  readonly stages: readonly PlanStage[];
  /** Per GPU in stage order, summing to 1: llama.cpp's --tensor-split. */
  readonly tensorSplit: readonly number[];
  /** Blocks every stage can hold (the tightest stage decides). */
  readonly kvBlocks: number;
  readonly blockSize: number;
  readonly maxConcurrentTokens: number;
  /** Sequences of `contextLength` tokens held at once. */
  readonly maxConcurrentSequences: number;
  readonly contextLength: number;
  readonly memory: ServingMemoryEstimate;
  readonly explanation: string;
}

export type PlanDeploymentParameters = Partial<ServingOptions>;
export type PlanDeploymentReturnType = DeploymentPlan;

export function planDeployment(
  model: ModelDescriptor,
  cluster: Cluster,
  parameters: PlanDeploymentParameters = {},
): PlanDeploymentReturnType {
  const options = resolveServingOptions(model, parameters);
  const memory = estimateServingMemory(model, options);
  const needed = blocksForSequences(options.minSequences, options.contextLength, options.blockSize);
  for (const tier of layoutTiers(model, cluster, options)) {
    const best = tier
      .map((layout) => sizeLayout(model, options, memory, layout))
      .filter((sized) => sized.kvBlocks >= needed)
      .sort((a, b) => b.kvBlocks - a.kvBlocks)[0];
    if (best !== undefined) return toPlan(model, cluster, options, memory, best);
  }
  throw doesNotFit(model, cluster, options, memory);
}

interface SizedLayout {
  readonly layout: Layout;
  readonly stages: readonly PlanStage[];
  readonly kvBlocks: number;
}

// Layers go to stages in proportion to the memory each can spare for weights and cache, which evens out
// their KV capacity; with idle, identical GPUs that is simply proportion to free memory.
function sizeLayout(
  model: ModelDescriptor,
  options: ServingOptions,
  memory: ServingMemoryEstimate,
  layout: Layout,
): SizedLayout {
  const t = layout.tensorParallel;
  const activation = estimateActivationBytes(model, options, t);
  const capacities = layout.stages.map((group) => group.length * Math.max(0, tightestBudget(group) - activation));
  const ranges = splitLayers(model.layers, capacities);
  const stages = layout.stages.map((group, i): PlanStage => {
    const range = ranges[i] ?? [0, 0];
    const layers = range[1] - range[0];
    const kvBlocks = kvBlocksOnGpu({
      budgetBytes: tightestBudget(group),
      weightsBytes: (memory.weightsBytes * layers) / model.layers / t,
      activationBytes: activation,
      kvBytesPerToken: kvBytesPerToken(model, options, t, layers),
      blockSize: options.blockSize,
    });
    const node = group[0]?.node.id ?? '';
    return { node, gpus: group.map((s) => s.gpuIndex), layerRange: range, share: layers / model.layers, kvBlocks };
  });
  return { layout, stages, kvBlocks: Math.min(...stages.map((s) => s.kvBlocks)) };
}

function tightestBudget(group: readonly GpuSlot[]): number {
  return Math.min(...group.map((s) => s.budgetBytes));
}

function toPlan(
  model: ModelDescriptor,
  cluster: Cluster,
  options: ServingOptions,
  memory: ServingMemoryEstimate,
  sized: SizedLayout,
): DeploymentPlan {
  const { layout, stages, kvBlocks } = sized;
  const maxConcurrentTokens = kvBlocks * options.blockSize;
  const plan = {
    strategy: layout.strategy,
    tensorParallelSize: layout.tensorParallel,
    pipelineParallelSize: stages.length,
    stages,
    tensorSplit: stages.flatMap((s) => s.gpus.map(() => round4(s.share / layout.tensorParallel))),
    kvBlocks,
    blockSize: options.blockSize,
    maxConcurrentTokens,
    maxConcurrentSequences: Math.floor(kvBlocks / Math.ceil(options.contextLength / options.blockSize)),
    contextLength: options.contextLength,
    memory,
  };
  return { ...plan, explanation: explainPlan(model, cluster, plan) };
}

function doesNotFit(
  model: ModelDescriptor,
  cluster: Cluster,
  options: ServingOptions,
  memory: ServingMemoryEstimate,
): ModelDoesNotFitError {
  const kv = memory.kvBytesPerToken * options.contextLength * options.minSequences;
  const needed = memory.weightsBytes + kv + memory.activationBytesPerGpu;
  const gpus = cluster.nodes.flatMap((n) => n.gpus);
  const available = gpus.reduce((sum, g) => sum + usableGpuBytes(g, options.gpuMemoryUtilization), 0);
  const detail =
    `weights ${formatGibibytes(memory.weightsBytes)} + KV cache for ${options.minSequences} x ` +
    `${options.contextLength} tokens ${formatGibibytes(kv)} + activations and runtime ` +
    `${formatGibibytes(memory.activationBytesPerGpu)} per GPU`;
  // Enough memory in total but no layout: per-GPU costs repeat on every GPU, and GPUs on slow links can only
  // be pipeline stages, each of which must hold its layers alone.
  const hint =
    needed <= available
      ? 'No layout of these GPUs holds it: each GPU of a layout needs its own activations and runtime, ' +
        'and tensor parallelism needs fast links inside one node'
      : undefined;
  const percent = Math.round(options.gpuMemoryUtilization * 100);
  const summary = `${gpus.length} GPU${gpus.length === 1 ? '' : 's'} at ${percent}%`;
  return new ModelDoesNotFitError(model.name ?? model.architecture, needed, available, detail, summary, hint);
}

function round4(x: number): number {
  return Math.round(x * 10_000) / 10_000;
}
