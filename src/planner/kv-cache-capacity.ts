// vLLM's KV cache sizing for one GPU: what its memory budget leaves after weights and activations, cut into
// blocks of `blockSize` tokens. A stage or a whole deployment holds as many blocks as its tightest GPU.
import type { GpuDevice } from './cluster.js';

export interface KvBlocksOnGpuParameters {
  /** Memory the engine may use on this GPU (see usableGpuBytes). */
  readonly budgetBytes: number;
  /** This GPU's part of the weights. */
  readonly weightsBytes: number;
  readonly activationBytes: number;
  /** KV bytes of one token for the layers and heads this GPU holds. */
  readonly kvBytesPerToken: number;
  readonly blockSize: number;
}

/** floor((budget - weights - activation) / (blockSize x kvBytesPerToken)), never below 0. */
export function kvBlocksOnGpu(p: KvBlocksOnGpuParameters): number {
  const free = p.budgetBytes - p.weightsBytes - p.activationBytes;
  return free <= 0 ? 0 : Math.floor(free / (p.blockSize * p.kvBytesPerToken));
}

/**
 * total x utilization, as vLLM budgets, but never more than is free: a provider's GPU may already hold
 * other work, and memory another process holds cannot be planned on.
 */
export function usableGpuBytes(gpu: GpuDevice, gpuMemoryUtilization: number): number {
  return Math.min(gpu.memoryBytes * gpuMemoryUtilization, gpu.freeBytes ?? gpu.memoryBytes);
}

/** Blocks needed for `sequences` sequences of `contextLength` tokens; a sequence never shares a block. */
export function blocksForSequences(sequences: number, contextLength: number, blockSize: number): number {
  return sequences * Math.ceil(contextLength / blockSize);
}
