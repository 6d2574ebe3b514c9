// How much memory one warm engine takes before it loads: the weights, a KV cache of contextSize tokens for each
// of its slots, and the compute buffers of one batch plus the runtime's own, with the planner's formulas; and the
// refusal, with both figures, of a model that does not fit in what the machine has free.
import type { ModelDescriptor } from '../models/index.js';
import { estimateActivationBytes, estimateWeightsBytes, kvBytesPerToken } from './estimate-serving-memory.js';
import { ModelExceedsMemoryError } from './planner-errors.js';
import { resolveServingOptions, type KvCacheType } from './serving-options.js';

/** llama.cpp's default logical batch (n_batch): the widest forward pass, which sizes the compute buffers. */
export const LLAMA_CPP_BATCH_TOKENS = 512;
/** The runtime's own memory beside the model's tensors: the process and its libraries on a CPU, the CUDA context on a GPU. */
export const ENGINE_OVERHEAD_BYTES = { cpu: 128 * 2 ** 20, gpu: 512 * 2 ** 20 } as const;

export interface EstimateEngineMemoryParameters {
  model: ModelDescriptor;
  /** Tokens of context per slot. */
  contextSize: number;
  slots: number;
  device: 'cpu' | 'gpu';
  kvCacheType?: KvCacheType;
}

export interface EngineMemoryEstimate {
  weightsBytes: number;
  kvCacheBytes: number;
  /** Compute buffers and the runtime's overhead. */
  overheadBytes: number;
  totalBytes: number;
}

export function estimateEngineMemory({ model, contextSize, slots, device, kvCacheType = 'f16' }: EstimateEngineMemoryParameters): EngineMemoryEstimate {
  const options = resolveServingOptions(model, { contextLength: contextSize, maxBatchTokens: LLAMA_CPP_BATCH_TOKENS, maxSequences: slots, runtimeOverheadBytes: ENGINE_OVERHEAD_BYTES[device], kvCacheType });
  const weightsBytes = estimateWeightsBytes(model);
  const kvCacheBytes = kvBytesPerToken(model, options, 1, model.layers) * contextSize * slots;
  const overheadBytes = estimateActivationBytes(model, options, 1);
  return { weightsBytes, kvCacheBytes, overheadBytes, totalBytes: weightsBytes + kvCacheBytes + overheadBytes };
}

export interface CheckEngineFitsParameters {
  /** The model's name or path, for the message. */
  model: string;
  estimate: EngineMemoryEstimate;
  /** What the engine may use: free RAM (capped by the sandbox's limit) or the GPU's free VRAM. */
  availableBytes: number;
  /** "RAM", "VRAM on GPU 0", "the container's memory limit"... */
  where: string;
}

/** Throws ModelExceedsMemoryError, with both figures, when the estimate is larger than what is available. */
export function checkEngineFits({ model, estimate, availableBytes, where }: CheckEngineFitsParameters): void {
  if (estimate.totalBytes > availableBytes) throw new ModelExceedsMemoryError(model, estimate, availableBytes, where);
}
