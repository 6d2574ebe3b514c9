// The provider's runtime when provider.engine is llama-server: llama.cpp's own server (built from source by
// scripts/build-llama-rpc.sh for this machine's GPU or CPU), one per model, up to `slots` jobs decoded together: in
// a Docker container per model on an internal network (the default sandbox), or a child process (sandbox: none).
// Measured on a 2-core CPU (bench/warm-engine.ts runs both engines in one run): it decodes one job on both cores
// faster than on one, where node-llama-cpp's prebuilt build decodes it slower, and 4 jobs together 1.4x as fast as
// the warm engine does on 2 threads.
import type { NodeConfig } from '../config/index.js';
import { llamaBuildCommandFor, llamaCmakeFlagsFor, llamaRpcBinDir, llamaServerContainerLauncher, LlamaServerEngine, locateLlamaRpcBinaries } from '../distributed/index.js';
import { DEFAULT_CONTAINER_LIMITS, type InferenceBackend } from '../execution/index.js';
import type { Logger } from '../log/index.js';
import { openDockerSandbox } from './docker-sandbox.js';
import { refuseModelsThatDoNotFit } from './model-memory-check.js';
import type { EngineChangeListener, ProviderEngineState, ProviderRuntime } from './provider-runtime.js';

export async function openLlamaServerRuntime(config: NodeConfig, { nodeId, backend }: { nodeId: string; backend: InferenceBackend }, logger: Logger, onEngineChange: EngineChangeListener = () => undefined): Promise<ProviderRuntime> {
  const { provider } = config;
  const build = llamaServerBuildFor(backend, config.distributed.binDir);
  if ('refusal' in build) {
    logger.error(build.refusal);
    return build;
  }
  const settings = {
    binDir: build.binDir,
    threads: provider.threads,
    ...(provider.batchThreads !== undefined ? { batchThreads: provider.batchThreads } : {}),
    contextSize: provider.contextSize,
    slots: provider.slots,
    // The CPU build has no layers to offload.
    ...(backend.gpu ? { gpuLayers: provider.gpuLayers } : {}),
    onChange: onEngineChange,
  };
  const described = { binDir: build.binDir, backend: backend.gpu || 'cpu', device: backend.device, slots: provider.slots, threads: provider.threads, batchThreads: provider.batchThreads ?? provider.threads };
  const runtimeOf = (engine: LlamaServerEngine, sandbox: ProviderEngineState['sandbox']): ProviderRuntime => ({
    engine,
    state: () => ({ sandbox, backend: { gpu: backend.gpu || 'cpu', device: backend.device }, engines: engine.status() }),
  });
  if (provider.sandbox === 'none') {
    const refusedModels = await refuseModelsThatDoNotFit(config, backend, Infinity, logger);
    logger.warn(described, 'WARNING: llama-server runs as a child process WITHOUT a sandbox, as configured (provider.sandbox: none)');
    return runtimeOf(new LlamaServerEngine({ ...settings, refusedModels }), 'none');
  }
  const sandbox = await openDockerSandbox(config, nodeId, logger);
  if ('refusal' in sandbox) return sandbox;
  const { docker, image } = sandbox;
  // The container's CPUs are the most threads llama-server runs at once.
  const limits = { ...DEFAULT_CONTAINER_LIMITS, cpus: Math.max(provider.threads, provider.batchThreads ?? provider.threads), memoryBytes: provider.containerMemoryMb * 2 ** 20 };
  const refusedModels = await refuseModelsThatDoNotFit(config, backend, limits.memoryBytes, logger);
  const launch = llamaServerContainerLauncher({ docker, image, binDir: build.binDir, nodeId, limits, ...(backend.containerGpus ? { gpus: backend.containerGpus } : {}) });
  logger.info({ ...described, image }, 'llama-server runs in a Docker container per model, on an internal network');
  return runtimeOf(new LlamaServerEngine({ ...settings, launch, refusedModels, idSuffix: '+docker' }), 'docker');
}

/**
 * The llama.cpp build for the chosen backend: distributed.binDir when the operator names one, else the build for the
 * machine's GPU (or CPU) in the cache; a GPU whose build is missing is refused with the command that builds it, never
 * served on the CPU behind the operator's back.
 */
export function llamaServerBuildFor(backend: Pick<InferenceBackend, 'gpu' | 'device'>, configuredBinDir: string | undefined, env: NodeJS.ProcessEnv = process.env): { binDir: string } | { refusal: string } {
  const binDir = configuredBinDir ?? llamaRpcBinDir(env, llamaCmakeFlagsFor(backend.gpu));
  try {
    return { binDir: locateLlamaRpcBinaries(binDir).binDir };
  } catch (error) {
    if (configuredBinDir || !backend.gpu) return { refusal: (error as Error).message };
    return { refusal: `llama.cpp is not built for ${backend.device} (${backend.gpu}) at ${binDir}: run ${llamaBuildCommandFor(backend.gpu)} once, or name a build in distributed.binDir` };
  }
}
