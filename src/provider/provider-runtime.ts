// Where a provider's jobs run: sandboxed in Docker by default, refused while no engine answers, in an unsandboxed
// engine process only when the operator chose `sandbox: none`. Decided once at start-up and said in the log.
// Either way each model has a warm engine process of its own, never the daemon itself: a llama.cpp crash or abort
// ends that process (its jobs fail over, it is restarted), not the daemon and every session it holds, and decoding
// keeps a thread pool of its own (src/execution/one-thread-pool-thread.ts: the daemon's made 2 threads 3x slower).
import { detectHardware } from '../discovery/hardware/index.js';
import type { NodeConfig } from '../config/index.js';
import { childProcessEngineLauncher, containerEngineLauncher, DEFAULT_CONTAINER_LIMITS, selectInferenceBackend, WarmEngine, type EngineStatus, type InferenceBackend, type LaunchEngineProcess, type WarmEngineEvent } from '../execution/index.js';
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

export async function openProviderRuntime(config: NodeConfig, nodeId: string, logger: Logger, onEngineChange: EngineChangeListener = () => undefined): Promise<ProviderRuntime> {
  const { provider } = config;
  if (provider.engine === 'vllm') return openVllmRuntime(config, nodeId, logger, onEngineChange);
  if (provider.engine === 'llama-server') return await openLlamaServerRuntime(config, nodeId, logger, onEngineChange);
  if (provider.sandbox === 'none') {
    logger.warn('WARNING: jobs run WITHOUT a sandbox, as configured (provider.sandbox: none): each model in an engine process of this user');
    // The CPU, as the in-process engine this replaced: node-llama-cpp's GPU builds are not installed (.npmrc).
    const backend: InferenceBackend = { gpu: false, device: 'cpu' };
    const refusedModels = await refuseModelsThatDoNotFit(config, backend, Number.POSITIVE_INFINITY, logger);
    return warmEngineRuntime(config, { sandbox: 'none', launch: childProcessEngineLauncher(), backend, refusedModels }, logger, onEngineChange);
  }
  const sandbox = await openDockerSandbox(config, nodeId, logger);
  if ('refusal' in sandbox) return sandbox;
  const { docker, image } = sandbox;
  logger.info({ image }, sandbox.notice);
  // One warm engine container per model, loaded once and serving every job of it, up to `slots` at once.
  const limits = { ...DEFAULT_CONTAINER_LIMITS, cpus: provider.threads, memoryBytes: provider.containerMemoryMb * 2 ** 20 };
  const backend = selectInferenceBackend(await detectHardware());
  logger.info({ backend: backend.gpu || 'cpu', device: backend.device }, 'inference backend chosen');
  const refusedModels = await refuseModelsThatDoNotFit(config, backend, limits.memoryBytes, logger);
  const launch = containerEngineLauncher({ docker, image, nodeId, limits, ...(backend.containerGpus ? { gpus: backend.containerGpus } : {}) });
  return warmEngineRuntime(config, { sandbox: 'docker', launch, backend, refusedModels }, logger, onEngineChange);
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
