// How much memory serving a model takes, split the way vLLM splits it: weights, a per-token KV cache,
// and a fixed per-GPU share for activations and the runtime. KV cache is whatever is left.
import { bytesPerWeightOfTypeName, type ModelDescriptor } from '../models/index.js';
import { UnknownWeightSizeError } from './planner-errors.js';
import { KV_CACHE_BYTES, type ServingOptions } from './serving-options.js';

/** Activations are kept in 16-bit floats (bf16/fp16) by every engine we plan for. */
const ACTIVATION_BYTES = 2;
/** Sampling reads logits in fp32. */
const LOGIT_BYTES = 4;

export interface ServingMemoryEstimate {
  readonly weightsBytes: number;
  /** Keys and values of one token across all layers, unsplit. */
  readonly kvBytesPerToken: number;
  /** On each GPU without tensor parallelism; see estimateActivationBytes. */
  readonly activationBytesPerGpu: number;
}

export function estimateServingMemory(model: ModelDescriptor, options: ServingOptions): ServingMemoryEstimate {
  return {
    weightsBytes: estimateWeightsBytes(model),
    kvBytesPerToken: kvBytesPerToken(model, options, 1, model.layers),
    activationBytesPerGpu: estimateActivationBytes(model, options, 1),
  };
}

/** The file's size when known (it is the weights, plus a header of kilobytes); else parameters x type size. */
export function estimateWeightsBytes(model: ModelDescriptor): number {
  if (model.fileSizeBytes > 0) return model.fileSizeBytes;
  const perWeight = bytesPerWeightOfTypeName(model.quantization.dominantTensorType);
  if (perWeight === undefined) throw new UnknownWeightSizeError(model.quantization.dominantTensorType);
  return model.parameterCount * perWeight;
}

/**
 * 2 (key and value) x layers x KV heads x head size x bytes per value, for the `layers` one GPU holds.
 * Tensor parallelism gives each GPU kvHeads / tp heads; beyond kvHeads GPUs, heads are replicated (as vLLM does).
 */
export function kvBytesPerToken(
  model: ModelDescriptor,
  options: ServingOptions,
  tensorParallel: number,
  layers: number,
): number {
  return 2 * layers * kvHeadsPerGpu(model.kvHeads, tensorParallel) * model.headDim * KV_CACHE_BYTES[options.kvCacheType];
}

export function kvHeadsPerGpu(kvHeads: number, tensorParallel: number): number {
  return Math.max(1, Math.floor(kvHeads / tensorParallel));
}

/**
 * Peak non-weight, non-cache memory of one GPU, our stand-in for vLLM's profiling run:
 *   maxBatchTokens x (2 x hidden + 3 x ffn / tp) x 2 bytes  (residual and normed input, gate+up and activated
 *                                                          MLP outputs of the widest layer; MoE: ffn x experts used)
 * + maxSequences x vocabulary x 4 bytes                   (fp32 logits of the last token of each sequence)
 * + runtimeOverheadBytes                                  (CUDA context, workspaces, communication buffers)
 */
export function estimateActivationBytes(model: ModelDescriptor, options: ServingOptions, tensorParallel: number): number {
  const ffn = model.feedForwardLength * (model.experts?.used ?? 1);
  const perToken = 2 * model.hiddenSize + (3 * ffn) / tensorParallel;
  const hidden = options.maxBatchTokens * perToken * ACTIVATION_BYTES;
  const logits = options.maxSequences * model.vocabularySize * LOGIT_BYTES;
  return hidden + logits + options.runtimeOverheadBytes;
}
