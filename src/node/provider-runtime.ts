// Where a provider's jobs run: sandboxed in Docker by default, refused while no engine answers, in-process
// only when the operator chose `sandbox: none`. Decided once at start-up and said in the log.
import Docker from 'dockerode';
import type { NodeConfig } from '../config/index.js';
import { buildRuntimeImage, chooseJobRuntime, containerEngineLauncher, DEFAULT_CONTAINER_LIMITS, detectDockerEngine, reapOrphanContainers, WarmEngine, type WarmEngineEvent } from '../execution/index.js';
import { LlamaCppEngine, type InferenceEngine } from '../inference/index.js';
import type { Logger } from '../log/index.js';

export type ProviderRuntime = { engine: InferenceEngine; refusal?: undefined } | { engine?: undefined; refusal: string };

export async function openProviderRuntime(config: NodeConfig, nodeId: string, logger: Logger): Promise<ProviderRuntime> {
  const { provider } = config;
  if (provider.sandbox === 'none') {
    logger.warn('WARNING: jobs run in-process WITHOUT a sandbox, as configured (provider.sandbox: none)');
    return { engine: new LlamaCppEngine({ threads: provider.threads, contextSize: provider.contextSize, slots: provider.slots }) };
  }
  const runtime = chooseJobRuntime({ docker: await detectDockerEngine(), allowUnsandboxedLocalRuntime: false });
  if (runtime.kind !== 'docker') {
    logger.error(runtime.notice);
    return { refusal: runtime.notice };
  }
  const docker = new Docker();
  const reaped = await reapOrphanContainers({ docker, nodeId });
  if (reaped.containerIds.length) logger.warn({ containers: reaped.containerIds.length }, 'removed containers left by an earlier run of this node');
  const image = provider.runtimeImage ?? (await buildRuntimeImage());
  logger.info({ image }, runtime.notice);
  // One warm engine container per model, loaded once and serving every job of it, up to `slots` at once.
  const limits = { ...DEFAULT_CONTAINER_LIMITS, cpus: provider.threads, memoryBytes: provider.containerMemoryMb * 2 ** 20 };
  const engine = new WarmEngine({
    launch: containerEngineLauncher({ docker, image, nodeId, limits }),
    threads: provider.threads,
    contextSize: provider.contextSize,
    slots: provider.slots,
    idleMs: provider.engineIdleSeconds * 1000,
    idSuffix: '+docker',
    onEvent: (event) => logEngineEvent(logger, event),
  });
  return { engine };
}

/** What the operator reads about each model's engine: loads, crashes with their last error, unloads. */
export function logEngineEvent(logger: Logger, event: WarmEngineEvent): void {
  if (event.type === 'loaded') logger.info({ model: event.modelPath, engine: event.processId.slice(0, 12), loadMs: Math.round(event.loadMs), backend: event.backend, gpuLayers: event.gpuLayers }, 'model loaded in its engine');
  else if (event.type === 'load-failed') logger.error({ model: event.modelPath, err: event.error.message }, 'model did not load');
  else if (event.type === 'crashed') logger.error({ model: event.modelPath, failedJobs: event.failedJobs, restarting: event.restarting, err: event.error.message }, 'engine crashed');
  else logger.info({ model: event.modelPath, idleMs: event.idleMs }, 'model unloaded after its idle time');
}
