// Where a provider's jobs run: sandboxed in Docker by default, refused while no engine answers, in-process
// only when the operator chose `sandbox: none`. Decided once at start-up and said in the log.
import { detectHardware } from '../discovery/hardware/index.js';
import type { NodeConfig } from '../config/index.js';
import { containerEngineLauncher, DEFAULT_CONTAINER_LIMITS, selectInferenceBackend, WarmEngine, type EngineStatus, type WarmEngineEvent } from '../execution/index.js';
import { LlamaCppEngine, type InferenceEngine } from '../inference/index.js';
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
    logger.warn('WARNING: jobs run in-process WITHOUT a sandbox, as configured (provider.sandbox: none)');
    return { engine: new LlamaCppEngine({ threads: provider.threads, contextSize: provider.contextSize, slots: provider.slots }), state: () => ({ sandbox: 'none', backend: { gpu: 'cpu', device: 'cpu' }, engines: [] }) };
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
  const engine = new WarmEngine({
    launch: containerEngineLauncher({ docker, image, nodeId, limits, ...(backend.containerGpus ? { gpus: backend.containerGpus } : {}) }),
    gpu: backend.gpu,
    refusedModels,
    threads: provider.threads,
    contextSize: provider.contextSize,
    slots: provider.slots,
    idleMs: provider.engineIdleSeconds * 1000,
    idSuffix: '+docker',
    onEvent: (event) => {
      logEngineEvent(logger, event);
      onEngineChange();
    },
  });
  return { engine, state: () => ({ sandbox: 'docker', backend: { gpu: backend.gpu || 'cpu', device: backend.device }, engines: engine.status() }) };
}

/** What the operator reads about each model's engine: loads, crashes with their last error, unloads. */
export function logEngineEvent(logger: Logger, event: WarmEngineEvent): void {
  if (event.type === 'loaded') logger.info({ model: event.modelPath, engine: event.processId.slice(0, 12), loadMs: Math.round(event.loadMs), backend: event.backend, gpuLayers: event.gpuLayers }, 'model loaded in its engine');
  else if (event.type === 'load-failed') logger.error({ model: event.modelPath, err: event.error.message }, 'model did not load');
  else if (event.type === 'crashed') logger.error({ model: event.modelPath, failedJobs: event.failedJobs, restarting: event.restarting, err: event.error.message }, 'engine crashed');
  else logger.info({ model: event.modelPath, idleMs: event.idleMs }, 'model unloaded after its idle time');
}
