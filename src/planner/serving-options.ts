// The knobs of a serving deployment that change how much memory it needs, with vLLM's defaults.
import type { ModelDescriptor } from '../models/index.js';
import { InvalidPlanOptionsError } from './planner-errors.js';

export type KvCacheType = 'f32' | 'f16' | 'bf16' | 'fp8' | 'q8_0' | 'q4_0';

/** Bytes per cached value; q8_0 and q4_0 are llama.cpp's block formats (34 and 18 bytes per 32 values). */
export const KV_CACHE_BYTES: Readonly<Record<KvCacheType, number>> = {
  f32: 4,
  f16: 2,
  bf16: 2,
  fp8: 1,
  q8_0: 34 / 32,
  q4_0: 18 / 32,
};

export interface ServingOptions {
  /** Share of each GPU's memory the engine may use (vLLM's --gpu-memory-utilization). */
  readonly gpuMemoryUtilization: number;
  /** Tokens per KV cache block (vLLM's default 16). */
  readonly blockSize: number;
  readonly kvCacheType: KvCacheType;
  /** Tokens one sequence may hold; the model's trained context by default. */
  readonly contextLength: number;
  /** Tokens in one forward pass, which sizes activations (vLLM's max_num_batched_tokens, profiled at 2048). */
  readonly maxBatchTokens: number;
  /** Sequences decoded together, which sizes the logits buffer (vLLM's max_num_seqs, 256). */
  readonly maxSequences: number;
  /** Per GPU: CUDA context, cuBLAS workspace and communication buffers, outside the engine's own tensors. */
  readonly runtimeOverheadBytes: number;
  /** A plan must hold at least this many full-context sequences at once. */
  readonly minSequences: number;
  /** Links at least this fast (Gb/s) carry tensor parallelism; slower ones only pipeline stages. */
  readonly fastLinkGbps: number;
}

export const DEFAULT_SERVING_OPTIONS: Omit<ServingOptions, 'contextLength'> = {
  gpuMemoryUtilization: 0.9,
  blockSize: 16,
  kvCacheType: 'f16',
  maxBatchTokens: 2048,
  maxSequences: 256,
  runtimeOverheadBytes: 512 * 1024 ** 2,
  minSequences: 1,
  // Tensor parallelism all-reduces twice per layer per token; PCIe 5 x16 (about 400 Gb/s measured) is the
  // slowest link where that still beats handing activations down a pipeline.
  fastLinkGbps: 400,
};

/** A model whose context is unknown (0) is planned for this many tokens per sequence. */
const FALLBACK_CONTEXT_LENGTH = 4096;

export function resolveServingOptions(model: ModelDescriptor, options: Partial<ServingOptions> = {}): ServingOptions {
  const resolved: ServingOptions = {
    ...DEFAULT_SERVING_OPTIONS,
    contextLength: model.contextLength > 0 ? model.contextLength : FALLBACK_CONTEXT_LENGTH,
    ...options,
  };
  validate(resolved);
  return resolved;
}

function validate(o: ServingOptions): void {
  if (!(o.gpuMemoryUtilization > 0 && o.gpuMemoryUtilization <= 1)) {
    throw new InvalidPlanOptionsError(`gpuMemoryUtilization ${o.gpuMemoryUtilization} is not in (0, 1]`);
  }
  const counts: [string, number][] = [
    ['blockSize', o.blockSize],
    ['contextLength', o.contextLength],
    ['maxBatchTokens', o.maxBatchTokens],
    ['maxSequences', o.maxSequences],
    ['minSequences', o.minSequences],
  ];
  for (const [name, value] of counts) {
    if (!Number.isInteger(value) || value < 1) {
      throw new InvalidPlanOptionsError(`${name} ${value} is not a positive integer`);
    }
  }
  if (!(o.runtimeOverheadBytes >= 0)) throw new InvalidPlanOptionsError('runtimeOverheadBytes is negative');
  if (!(o.kvCacheType in KV_CACHE_BYTES)) throw new InvalidPlanOptionsError(`unknown KV cache type ${o.kvCacheType}`);
}
