// Distributed inference on llama.cpp's RPC backend: a llama-server head whose layers (pipeline) or tensors
// (tensor parallel) live on RPC workers of other providers, reached only through authenticated, encrypted
// tunnels; stages per job, supervised, with failover. Also the plain llama-server engine.
export { LLAMA_CPP_PYTHON_VERSION, LLAMA_RPC_COMMIT, LLAMA_RPC_PATCHES, LLAMA_RPC_ENGINE_ID, LlamaRpcNotBuiltError, llamaBuildCommandFor, llamaCmakeFlagsFor, llamaRpcBinDir, locateLlamaRpcBinaries, type LlamaBuildBackend, type LlamaRpcBinaries } from './llama-rpc-binaries.js';
export { EngineProcessError } from './engine-process.js';
export { HeadFailedError, LlamaServerHead, headArguments, servingArguments, type LaunchedLlamaServer, type LaunchLlamaServer, type LlamaServerHeadOptions, type LlamaSplitMode } from './llama-server-head.js';
export { llamaServerContainerLauncher, type LlamaServerContainerOptions } from './llama-server-container.js';
export { LlamaServerEngine, type LlamaServerEngineOptions } from './llama-server-engine.js';
export type { HeadGenerationResult } from './head-generation.js';
export { planStageSplit, StagesTooSmallError, DEFAULT_MAX_TENSOR_LINK_LATENCY_MS, type PlanStageSplitParameters, type RequestedSplit, type StageCapacity, type StageSplit } from './plan-stage-split.js';
export { RpcWorker, processWorkerLauncher, MAX_WORKER_RESTARTS, type LaunchedWorker, type RpcWorkerLauncher } from './rpc-worker.js';
export { StageService, DEFAULT_STAGE_LIMITS, type StageLimits, type StageServiceOptions } from './stage-service.js';
export { StageConnection, StageFailedError, type StageEndpoint, type StageReady } from './stage-connection.js';
export { DistributedEngine, NoStageAvailableError, MAX_HEAD_ATTEMPTS, DEFAULT_KEEP_WARM_MS, DISCOVERED_STAGES_PER_JOB, type StageFinder, type DistributedAttempt, type DistributedEngineOptions, type DistributedJobReport } from './distributed-engine.js';
export { stageRenewalReason, MIN_STAGE_BYTE_MARGIN, MIN_STAGE_TIME_MARGIN_MS, type JobHistory, type WarmStageBudget } from './warm-stage-renewal.js';
export { fnv1a64, hashedTensorsOf, prefillTensorCache, rpcCacheEntriesOf, RPC_CACHE_SUBDIR, RPC_HASH_THRESHOLD_BYTES, type RpcCacheEntry, type PrefillTensorCacheReturnType } from './rpc-tensor-cache.js';
export { dialTunnel, TunnelRefusedError, TunnelUnreachableError } from './tunnel/tunnel-handshake.js';
export { TUNNEL_PROTOCOL, EVENT_KIND_TUNNEL_AUTH, type TunnelRefusalCode } from './tunnel/tunnel-protocol.js';
export { distributedModelPaths, startStageService, withDistributedModels } from './provider-integration.js';
