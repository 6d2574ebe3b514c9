// Planner: how much memory a model needs to serve, and how to lay it out over GPUs, nodes and links.
export {
  linkBetween,
  uniformNode,
  type Cluster,
  type ClusterNode,
  type GpuDevice,
  type InterNodeLink,
  type IntraNodeLink,
} from './cluster.js';
export { parseGpuSpec, type ParseGpuSpecParameters } from './parse-gpu-spec.js';
export {
  DEFAULT_SERVING_OPTIONS,
  KV_CACHE_BYTES,
  resolveServingOptions,
  type KvCacheType,
  type ServingOptions,
} from './serving-options.js';
export {
  estimateActivationBytes,
  estimateServingMemory,
  estimateWeightsBytes,
  kvBytesPerToken,
  kvHeadsPerGpu,
  type ServingMemoryEstimate,
} from './estimate-serving-memory.js';
export { blocksForSequences, kvBlocksOnGpu, usableGpuBytes, type KvBlocksOnGpuParameters } from './kv-cache-capacity.js';
export {
  checkEngineFits,
  ENGINE_OVERHEAD_BYTES,
  estimateEngineMemory,
  gpuLayersThatFit,
  LLAMA_CPP_BATCH_TOKENS,
  placeEngineMemory,
  type CheckEngineFitsParameters,
  type EnginePlacementEstimate,
  type EngineMemoryEstimate,
  type GpuLayers,
  type EstimateEngineMemoryParameters,
} from './estimate-engine-memory.js';
export { splitLayers, type LayerRange } from './split-layers.js';
export { TENSOR_PARALLEL_SIZES, validTensorParallelSizes, type DeploymentStrategy } from './deployment-layouts.js';
export {
  planDeployment,
  type DeploymentPlan,
  type PlanDeploymentParameters,
  type PlanDeploymentReturnType,
  type PlanStage,
} from './plan-deployment.js';
export {
  InvalidGpuSpecError,
  InvalidPlanOptionsError,
  ModelDoesNotFitError,
  ModelExceedsMemoryError,
  UnknownWeightSizeError,
} from './planner-errors.js';
export { formatGibibytes, GIB } from './format-bytes.js';
export { LLAMA_3_70B, LLAMA_3_8B, MIXTRAL_8X7B } from './reference-models.js';
