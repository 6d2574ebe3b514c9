// Distributed inference on llama.cpp's RPC backend: a llama-server head whose layers (pipeline) or tensors
// (tensor parallel) live on RPC workers of other providers, reached only through authenticated, encrypted
// tunnels; stages per job, supervised, with failover. Also the plain llama-server engine.
export { LLAMA_CPP_PYTHON_VERSION, LLAMA_RPC_COMMIT, LLAMA_RPC_ENGINE_ID, LlamaRpcNotBuiltError, llamaRpcBinDir, locateLlamaRpcBinaries, type LlamaRpcBinaries } from './llama-rpc-binaries.js';
export { EngineProcessError } from './engine-process.js';
export { HeadFailedError, LlamaServerHead, headArguments, type LlamaServerHeadOptions, type LlamaSplitMode } from './llama-server-head.js';
export { LlamaServerEngine, type LlamaServerEngineOptions } from './llama-server-engine.js';
export type { HeadGenerationResult } from './head-generation.js';
export { planStageSplit, StagesTooSmallError, DEFAULT_MAX_TENSOR_LINK_LATENCY_MS, type PlanStageSplitParameters, type RequestedSplit, type StageCapacity, type StageSplit } from './plan-stage-split.js';
export { RpcWorker, processWorkerLauncher, MAX_WORKER_RESTARTS, type LaunchedWorker, type RpcWorkerLauncher } from './rpc-worker.js';
export { StageService, DEFAULT_STAGE_LIMITS, type StageLimits, type StageServiceOptions } from './stage-service.js';
export { StageConnection, StageFailedError, type StageEndpoint } from './stage-connection.js';
export { DistributedEngine, NoStageAvailableError, MAX_HEAD_ATTEMPTS, type DistributedAttempt, type DistributedEngineOptions } from './distributed-engine.js';
export { dialTunnel, TunnelRefusedError, TunnelUnreachableError } from './tunnel/tunnel-handshake.js';
export { TUNNEL_PROTOCOL, EVENT_KIND_TUNNEL_AUTH, type TunnelRefusalCode } from './tunnel/tunnel-protocol.js';
export { distributedModelPaths, startStageService, withDistributedModels } from './provider-integration.js';
