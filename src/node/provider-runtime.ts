// Where a provider's jobs run: sandboxed in Docker by default, refused while no engine answers, in-process
// only when the operator chose `sandbox: none`. Decided once at start-up and said in the log.
import Docker from 'dockerode';
import type { NodeConfig } from '../config/index.js';
import { buildRuntimeImage, chooseJobRuntime, ContainerEngine, detectDockerEngine, reapOrphanContainers } from '../execution/index.js';
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
  const engine = new ContainerEngine({ docker, image, nodeId, threads: provider.threads, contextSize: provider.contextSize, limits: { memoryBytes: provider.containerMemoryMb * 2 ** 20 } });
  return { engine };
}
