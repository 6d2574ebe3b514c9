// The provider's Docker sandbox, opened once at start-up for whichever engine runs in it: refused while no Docker
// engine answers, a crashed earlier run's containers removed, the runtime image ready.
import Docker from 'dockerode';
import type { NodeConfig } from '../config/index.js';
import { buildRuntimeImage, chooseJobRuntime, detectDockerEngine, reapOrphanContainers } from '../execution/index.js';
import type { Logger } from '../log/index.js';

export interface OpenedDockerSandbox {
  docker: Docker;
  image: string;
  /** What the operator reads of it (the runtime choice's notice). */
  notice: string;
}

export async function openDockerSandbox(config: NodeConfig, nodeId: string, logger: Logger): Promise<OpenedDockerSandbox | { refusal: string }> {
  const runtime = chooseJobRuntime({ docker: await detectDockerEngine(), allowUnsandboxedLocalRuntime: false });
  if (runtime.kind !== 'docker') {
    logger.error(runtime.notice);
    return { refusal: runtime.notice };
  }
  const docker = new Docker();
  const reaped = await reapOrphanContainers({ docker, nodeId });
  if (reaped.containerIds.length) logger.warn({ containers: reaped.containerIds.length }, 'removed containers left by an earlier run of this node');
  const image = config.provider.runtimeImage ?? (await buildRuntimeImage());
  return { docker, image, notice: runtime.notice };
}
