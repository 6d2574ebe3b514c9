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

/** How many of a model's layers its engine offloads to the GPU (provider.gpuLayers): all of them, or this many. */
export type GpuLayers = 'all' | number;

/** An engine's memory on a GPU with some of its layers kept in RAM: what each side must hold. */
export interface EnginePlacementEstimate {
  /** Layers offloaded, of `layers`. */
  gpuLayers: number;
  layers: number;
  gpu: EngineMemoryEstimate;
  /** Zero when every layer is on the GPU (the process's own memory is not counted there, as before). */
  ram: EngineMemoryEstimate;
}

const NOTHING: EngineMemoryEstimate = { weightsBytes: 0, kvCacheBytes: 0, overheadBytes: 0, totalBytes: 0 };

/**
 * The engine's memory split between VRAM and RAM with `gpuLayers` of the model's layers offloaded: weights and KV
 * cache by share of layers (llama.cpp keeps a layer's KV cache on the device that holds its weights); the compute
 * buffers and the CUDA context on the GPU; with layers left in RAM, the CPU's compute buffers and runtime there too.
 */
export function placeEngineMemory({ gpuLayers, ...parameters }: Omit<EstimateEngineMemoryParameters, 'device'> & { gpuLayers: GpuLayers }): EnginePlacementEstimate {
  const whole = estimateEngineMemory({ ...parameters, device: 'gpu' });
  const layers = parameters.model.layers;
  const offloaded = gpuLayers === 'all' ? layers : Math.min(Math.max(0, Math.floor(gpuLayers)), layers);
  const share = (bytes: number, count: number) => Math.round((bytes * count) / layers);
  const gpu = sumOf(share(whole.weightsBytes, offloaded), share(whole.kvCacheBytes, offloaded), whole.overheadBytes);
  if (offloaded === layers) return { gpuLayers: offloaded, layers, gpu, ram: NOTHING };
  const cpuOverhead = estimateEngineMemory({ ...parameters, device: 'cpu' }).overheadBytes;
  const ram = sumOf(whole.weightsBytes - gpu.weightsBytes, whole.kvCacheBytes - gpu.kvCacheBytes, cpuOverhead);
  return { gpuLayers: offloaded, layers, gpu, ram };
}

/** The most layers whose share fits in `availableBytes` of VRAM; -1 when not even the runtime does. */
export function gpuLayersThatFit(parameters: Omit<EstimateEngineMemoryParameters, 'device'>, availableBytes: number): number {
  // The VRAM share grows with each layer: the last count that fits, found by halving.
  let [low, high] = [-1, parameters.model.layers];
  while (low < high) {
    const middle = Math.floor((low + high + 1) / 2);
    if (placeEngineMemory({ ...parameters, gpuLayers: middle }).gpu.totalBytes <= availableBytes) low = middle;
    else high = middle - 1;
  }
  return low;
}

function sumOf(weightsBytes: number, kvCacheBytes: number, overheadBytes: number): EngineMemoryEstimate {
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
  /** Another way to make it fit, said after the usual ones (fewer layers on the GPU). */
  alternative?: string;
}

/** Throws ModelExceedsMemoryError, with both figures, when the estimate is larger than what is available. */
export function checkEngineFits({ model, estimate, availableBytes, where, alternative }: CheckEngineFitsParameters): void {
  if (estimate.totalBytes > availableBytes) throw new ModelExceedsMemoryError(model, estimate, availableBytes, where, alternative);
}
