// vLLM in the `vllm` execution template's container (image vllm/vllm-openai, the model folder read-only, caches on a
// tmpfs, the GPUs as device requests), on an internal Docker network that has no route out: the provider reaches the
// server at the container's address on that network, never through a published port. Not run here (no GPU, no
// image): the spec it starts is the template's, which is tested, and the supervision around it is VllmServer's.
import { createHash } from 'node:crypto';
import type Docker from 'dockerode';
import type { ContainerCreateOptions } from 'dockerode';
import { CURRENT_EXECUTION_TEMPLATE_VERSION, vllmContainerSpec, type ContainerLimits, type GpuRequest } from '../../execution/execution-templates.js';
import { addressOn, ensureInternalNetwork, removeInternalNetworkIfUnused } from '../../execution/internal-network.js';
import { startSandboxedContainer } from '../../execution/start-sandboxed-container.js';
import { VllmServerError } from './vllm-errors.js';
import { OutputTail, vllmTuningArguments, type LaunchVllmParameters, type LaunchVllmProcess, type VllmServeSettings } from './vllm-server.js';

/** The port the vllm template's server listens on inside its container (VLLM_V1.port). */
const VLLM_CONTAINER_PORT = 8000;
const MAX_OUTPUT_LINE_BYTES = 64 * 1024;

export interface VllmContainerLauncherOptions extends VllmServeSettings {
  docker: Docker;
  /** This daemon's node id, labelled on the container so that reapOrphanContainers finds it after a crash. */
  nodeId: string;
  /** Defaults to the template's pinned image. */
  image?: string;
  gpus: GpuRequest;
  limits: ContainerLimits;
  /** The internal network; created when missing. */
  network?: string;
}

export function vllmContainerLauncher(options: VllmContainerLauncherOptions): LaunchVllmProcess {
  const network = vllmNetworkOf(options);
  return async ({ modelPath, servedName }) => {
    await ensureInternalNetwork(options.docker, network);
    const spec = vllmServerContainerSpec(options, { modelPath, servedName });
    const output = new OutputTail();
    const container = await startSandboxedContainer({ docker: options.docker, spec, onStdoutLine: (line) => output.push(`${line}\n`), maxLineBytes: MAX_OUTPUT_LINE_BYTES });
    let done = false;
    const ended = container.ended.then((end) => {
      done = true;
      for (const line of end.stderrTail) output.push(`${line}\n`);
      return { code: end.exitCode, signal: null, ...(end.oomKilled ? { reason: `was killed at its memory limit of ${Math.round(options.limits.memoryBytes / 2 ** 20)} MiB` } : {}) };
    });
    const address = await addressOn(options.docker, container.id, network);
    if (!address) {
      await container.kill();
      throw new VllmServerError(modelPath, `the vLLM container ${container.id.slice(0, 12)} has no address on network ${network}`, output.text());
    }
    return {
      id: container.id.slice(0, 12),
      baseUrl: `http://${address}:${VLLM_CONTAINER_PORT}`,
      lastOutput: () => output.text(),
      ended,
      hasEnded: () => done,
      stop: async () => {
        await container.kill();
        await ended;
        await removeInternalNetworkIfUnused(options.docker, network);
      },
    };
  };
}

/**
 * The `vllm` template's container for one model, with the operator's settings after the template's arguments (the
 * template sets the model, its name, host, port and tensor parallelism over the GPUs given). Pure, so it is tested.
 */
export function vllmServerContainerSpec(options: Omit<VllmContainerLauncherOptions, 'docker'>, { modelPath, servedName }: LaunchVllmParameters): ContainerCreateOptions {
  const gpuCount = 'count' in options.gpus ? options.gpus.count : options.gpus.deviceIds.length;
  const spec = vllmContainerSpec({
    version: CURRENT_EXECUTION_TEMPLATE_VERSION,
    ...(options.image ? { image: options.image } : {}),
    owner: { jobId: `vllm-${createHash('sha256').update(modelPath).digest('hex').slice(0, 16)}`, nodeId: options.nodeId },
    model: { hostPath: modelPath, servedName, ...(options.maxModelLength !== undefined ? { maxModelLength: options.maxModelLength } : {}) },
    tensorParallelSize: gpuCount,
    gpus: options.gpus,
    network: vllmNetworkOf(options),
    limits: options.limits,
  });
  return { ...spec, Cmd: [...(spec.Cmd ?? []), ...vllmTuningArguments(options)] };
}

function vllmNetworkOf(options: Pick<VllmContainerLauncherOptions, 'network' | 'nodeId'>): string {
  return options.network ?? `infernet-vllm-${options.nodeId.slice(0, 12)}`;
}
