// The candidate layouts of the decision tree, cheapest first within each branch: which GPUs form each
// pipeline stage, and how many of them share a stage by tensor parallelism. Sizing them is plan-deployment's job.
import type { ModelDescriptor } from '../models/index.js';
import type { Cluster, ClusterNode } from './cluster.js';
import { usableGpuBytes } from './kv-cache-capacity.js';
import type { ServingOptions } from './serving-options.js';

export type DeploymentStrategy = 'single' | 'tensor' | 'pipeline' | 'hybrid';

export interface GpuSlot {
  readonly node: ClusterNode;
  readonly nodeIndex: number;
  readonly gpuIndex: number;
  readonly budgetBytes: number;
}

/** Stages in pipeline order; every stage has `tensorParallel` GPUs. */
export interface Layout {
  readonly strategy: DeploymentStrategy;
  readonly tensorParallel: number;
  readonly stages: readonly (readonly GpuSlot[])[];
}

/** Layouts of equal cost (same GPU count and shape): the planner takes the one holding most KV cache. */
export type LayoutTier = readonly Layout[];

/** tensor parallelism sizes ggml and vLLM accept: heads split evenly, KV heads split or replicated evenly. */
export const TENSOR_PARALLEL_SIZES: readonly number[] = [2, 4, 8];

export function validTensorParallelSizes(model: ModelDescriptor): number[] {
  return TENSOR_PARALLEL_SIZES.filter(
    (t) => model.heads % t === 0 && (model.kvHeads % t === 0 || t % model.kvHeads === 0),
  );
}

export function hasFastLink(node: ClusterNode, options: ServingOptions): boolean {
  const measured = node.intraLink.measuredGbps;
  return measured === undefined ? node.intraLink.kind === 'nvlink' : measured >= options.fastLinkGbps;
}

/** Every branch of the tree in order: single GPU, tensor in one node, pipeline, then hybrid. */
export function layoutTiers(model: ModelDescriptor, cluster: Cluster, options: ServingOptions): LayoutTier[] {
  const slots = cluster.nodes.map((node, nodeIndex) => slotsOf(node, nodeIndex, options));
  return [
    ...singleTiers(slots),
    ...tensorTiers(model, slots, options),
    ...pipelineTiers(model, slots, options),
    ...hybridTiers(model, slots, options),
  ];
}

/** A node's GPUs, roomiest first. */
function slotsOf(node: ClusterNode, nodeIndex: number, options: ServingOptions): GpuSlot[] {
  return node.gpus
    .map((gpu, gpuIndex) => ({ node, nodeIndex, gpuIndex, budgetBytes: usableGpuBytes(gpu, options.gpuMemoryUtilization) }))
    .sort((a, b) => b.budgetBytes - a.budgetBytes);
}

function singleTiers(slots: readonly GpuSlot[][]): LayoutTier[] {
  const best = roomiestFirst(slots.flat())[0];
  return best === undefined ? [] : [[{ strategy: 'single', tensorParallel: 1, stages: [[best]] }]];
}

function tensorTiers(model: ModelDescriptor, slots: readonly GpuSlot[][], options: ServingOptions): LayoutTier[] {
  return validTensorParallelSizes(model).map((t) =>
    slots
      .filter((node) => node.length >= t && node[0] !== undefined && hasFastLink(node[0].node, options))
      .map((node) => ({ strategy: 'tensor', tensorParallel: t, stages: [inGpuOrder(node.slice(0, t))] })),
  );
}

/**
 * Stages of one GPU. A node with fast links offers only its roomiest GPU here: two of its GPUs are better
 * used by tensor parallelism, which the hybrid branch tries next. Over slow links every GPU is a stage.
 */
function pipelineTiers(model: ModelDescriptor, slots: readonly GpuSlot[][], options: ServingOptions): LayoutTier[] {
  const units = roomiestFirst(slots.flatMap((node) => (node[0] && hasFastLink(node[0].node, options) ? [node[0]] : node)));
  const tiers: LayoutTier[] = [];
  for (let k = 2; k <= Math.min(units.length, model.layers); k++) {
    tiers.push([{ strategy: 'pipeline', tensorParallel: 1, stages: inGpuOrder(units.slice(0, k)).map((slot) => [slot]) }]);
  }
  return tiers;
}

/** Whole fast-linked nodes as tensor-parallel stages, fewest GPUs first, then fewest stages. */
function hybridTiers(model: ModelDescriptor, slots: readonly GpuSlot[][], options: ServingOptions): LayoutTier[] {
  const shapes: [number, number][] = [];
  for (const t of validTensorParallelSizes(model)) {
    for (let k = 2; k <= Math.min(slots.length, model.layers); k++) shapes.push([t, k]);
  }
  shapes.sort(([t1, k1], [t2, k2]) => t1 * k1 - t2 * k2 || k1 - k2);
  return shapes.map(([t, k]) => {
    const groups = slots
      .filter((node) => node.length >= t && node[0] !== undefined && hasFastLink(node[0].node, options))
      .map((node) => inGpuOrder(node.slice(0, t)))
      .sort((a, b) => groupCapacity(b) - groupCapacity(a));
    if (groups.length < k) return [];
    const chosen = groups.slice(0, k).sort((a, b) => (a[0]?.nodeIndex ?? 0) - (b[0]?.nodeIndex ?? 0));
    return [{ strategy: 'hybrid', tensorParallel: t, stages: chosen }];
  });
}

// A tensor-parallel group splits evenly, so its tightest GPU bounds it.
function groupCapacity(group: readonly GpuSlot[]): number {
  return group.length * Math.min(...group.map((s) => s.budgetBytes));
}

function roomiestFirst(slots: readonly GpuSlot[]): GpuSlot[] {
  return [...slots].sort((a, b) => b.budgetBytes - a.budgetBytes || a.nodeIndex - b.nodeIndex || a.gpuIndex - b.gpuIndex);
}

// Pipeline order follows the cluster's node order, so consecutive stages share a node where they can.
function inGpuOrder(slots: readonly GpuSlot[]): GpuSlot[] {
  return [...slots].sort((a, b) => a.nodeIndex - b.nodeIndex || a.gpuIndex - b.gpuIndex);
}
