// Where a provider's jobs run: sandboxed in Docker by default, refused while no engine answers, in an unsandboxed
// engine process only when the operator chose `sandbox: none`. Decided once at start-up and said in the log.
// Either way each model has a warm engine process of its own, never the daemon itself: a llama.cpp crash or abort
// ends that process (its jobs fail over, it is restarted), not the daemon and every session it holds, and decoding
// keeps a thread pool of its own (src/execution/one-thread-pool-thread.ts: the daemon's made 2 threads 3x slower).
import { detectHardware, type HardwareProfile } from '../discovery/hardware/index.js';
import type { NodeConfig } from '../config/index.js';
import { checkLlamaGpuBuild, childProcessEngineLauncher, containerEngineLauncher, DEFAULT_CONTAINER_LIMITS, LlamaGpuBuildUnusableError, selectInferenceBackend, WarmEngine, type EngineStatus, type InferenceBackend, type LaunchEngineProcess, type WarmEngineEvent } from '../execution/index.js';
import type { InferenceEngine } from '../inference/index.js';
import type { Logger } from '../log/index.js';
import { openDockerSandbox } from './docker-sandbox.js';
import { refuseModelsThatDoNotFit } from './model-memory-check.js';
import { openLlamaServerRuntime } from './open-llama-server-runtime.js';
import { openVllmRuntime } from './open-vllm-runtime.js';

/** What `infernet status --json` shows of a provider's engines: the sandbox, the backend and each model's engine. */
export interface ProviderEngineState {
  sandbox: 'docker' | 'none';
  backend: { gpu: string; device: string };
  engines: EngineStatus[];
}

export type ProviderRuntime = { engine: InferenceEngine; refusal?: undefined; state?: () => ProviderEngineState } | { engine?: undefined; refusal: string; state?: undefined };

/** Told each time an engine loads, crashes, fails to load or unloads (the daemon rewrites daemon.json). */
export type EngineChangeListener = () => void;

export interface OpenProviderRuntimeOptions {
  /** Told each time an engine loads, crashes, fails to load or unloads (the daemon rewrites daemon.json). */
  onEngineChange?: EngineChangeListener;
  /** What this machine has: detectHardware by default; a recorded machine in tests. */
  detectHardware?: () => Promise<Pick<HardwareProfile, 'gpus' | 'os' | 'arch'>>;
}

export async function openProviderRuntime(config: NodeConfig, nodeId: string, logger: Logger, options: OpenProviderRuntimeOptions = {}): Promise<ProviderRuntime> {
  const { provider } = config;
  const onEngineChange = options.onEngineChange ?? (() => undefined);
  const backend = selectInferenceBackend(await (options.detectHardware ?? detectHardware)());
  if (provider.engine === 'vllm') return openVllmRuntime(config, { nodeId, backend }, logger, onEngineChange);
  if (provider.engine === 'llama-server') return await openLlamaServerRuntime(config, { nodeId, backend }, logger, onEngineChange);
  logger.info({ backend: backend.gpu || 'cpu', device: backend.device }, 'inference backend chosen');
  const gpuBuildRefusal = await refusalOfLlamaGpuBuild(backend, logger);
  if (gpuBuildRefusal) return gpuBuildRefusal;
  if (provider.sandbox === 'none') {
    logger.warn('WARNING: jobs run WITHOUT a sandbox, as configured (provider.sandbox: none): each model in an engine process of this user');
    const refusedModels = await refuseModelsThatDoNotFit(config, backend, Number.POSITIVE_INFINITY, logger);
    return warmEngineRuntime(config, { sandbox: 'none', launch: childProcessEngineLauncher(), backend, refusedModels }, logger, onEngineChange);
  }
  const sandbox = await openDockerSandbox(config, nodeId, logger);
  if ('refusal' in sandbox) return sandbox;
  const { docker, image } = sandbox;
  logger.info({ image }, sandbox.notice);
  // One warm engine container per model, loaded once and serving every job of it, up to `slots` at once.
  const limits = { ...DEFAULT_CONTAINER_LIMITS, cpus: provider.threads, memoryBytes: provider.containerMemoryMb * 2 ** 20 };
  const refusedModels = await refuseModelsThatDoNotFit(config, backend, limits.memoryBytes, logger);
  const launch = containerEngineLauncher({ docker, image, nodeId, limits, ...(backend.containerGpus ? { gpus: backend.containerGpus } : {}) });
  return warmEngineRuntime(config, { sandbox: 'docker', launch, backend, refusedModels }, logger, onEngineChange);
}

/**
 * On a GPU, node-llama-cpp's build for it must be installed and find its libraries (the runtime image is assembled
 * from this checkout's packages and libraries, so the same check holds under Docker): otherwise every job would fail
 * at load, or run on the CPU under a record that offers the GPU. Refused at start-up, saying what to install.
 */
async function refusalOfLlamaGpuBuild(backend: InferenceBackend, logger: Logger): Promise<{ refusal: string } | undefined> {
  if (!backend.gpu) return undefined;
  try {
    const { build } = await checkLlamaGpuBuild(backend.gpu);
    logger.info({ build: build.packageName }, `node-llama-cpp's ${backend.gpu} build loads on this machine`);
    return undefined;
  } catch (error) {
    if (!(error instanceof LlamaGpuBuildUnusableError)) throw error;
    logger.error(error.message);
    return { refusal: error.message };
  }
}

/** One warm engine process per model, loaded once and serving every job of it, up to `slots` at once. */
function warmEngineRuntime(
  { provider }: NodeConfig,
  where: { sandbox: ProviderEngineState['sandbox']; launch: LaunchEngineProcess; backend: InferenceBackend; refusedModels: ReadonlyMap<string, Error> },
  logger: Logger,
  onEngineChange: EngineChangeListener,
): ProviderRuntime {
  const { sandbox, backend } = where;
  const engine = new WarmEngine({
    launch: where.launch,
    gpu: backend.gpu,
    gpuLayers: provider.gpuLayers,
    refusedModels: where.refusedModels,
    threads: provider.threads,
    contextSize: provider.contextSize,
    slots: provider.slots,
    idleMs: provider.engineIdleSeconds * 1000,
    // Unsandboxed, the engine is the in-process one's llama.cpp build and numbers: its id stays that one's.
    ...(sandbox === 'docker' ? { idSuffix: '+docker' } : {}),
    onEvent: (event) => {
      logEngineEvent(logger, event);
      onEngineChange();
    },
  });
  return { engine, state: () => ({ sandbox, backend: { gpu: backend.gpu || 'cpu', device: backend.device }, engines: engine.status() }) };
}

/** What the operator reads about each model's engine: loads, crashes with their last error, unloads. */
export function logEngineEvent(logger: Logger, event: WarmEngineEvent): void {
  if (event.type === 'loaded') logger.info({ model: event.modelPath, engine: event.processId.slice(0, 12), loadMs: Math.round(event.loadMs), backend: event.backend, gpuLayers: event.gpuLayers }, 'model loaded in its engine');
  else if (event.type === 'load-failed') logger.error({ model: event.modelPath, err: event.error.message }, 'model did not load');
  else if (event.type === 'crashed') logger.error({ model: event.modelPath, failedJobs: event.failedJobs, restarting: event.restarting, err: event.error.message }, 'engine crashed');
  else logger.info({ model: event.modelPath, idleMs: event.idleMs }, 'model unloaded after its idle time');
}
