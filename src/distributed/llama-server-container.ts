// llama-server in the provider's Docker sandbox (provider.engine llama-server, sandbox docker): one container per
// model from the runtime image, the llama.cpp build and its libraries mounted read-only, the model read-only,
// non-root, read-only root, the sandbox's limits, the GPU as a device request where there is one. It sits on an
// internal Docker network with no route out; the provider reaches its HTTP API at the container's address there.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { CURRENT_EXECUTION_TEMPLATE_VERSION, llamaServerContainerPort, llamaServerContainerSpec, type ContainerLimits, type GpuRequest } from '../execution/execution-templates.js';
import { addressOn, ensureInternalNetwork, removeInternalNetworkIfUnused } from '../execution/internal-network.js';
import { startSandboxedContainer } from '../execution/start-sandboxed-container.js';
import { sharedLibrariesOf } from './docker-worker-launcher.js';
import { EngineProcessError } from './engine-process.js';
import type { LaunchedLlamaServer, LaunchLlamaServer } from './llama-server-head.js';

/** llama-server logs a line per request and per slot: the last ones are kept for the operator's error. */
const KEPT_OUTPUT_LINES = 40;
const MAX_OUTPUT_LINE_BYTES = 64 * 1024;

export interface LlamaServerContainerOptions {
  docker: Docker;
  /** The runtime image (buildRuntimeImage): only its root filesystem is used, the programs come from binDir. */
  image: string;
  /** The llama.cpp build (scripts/build-llama-rpc.sh) for this machine's CPU or GPU. */
  binDir: string;
  /** This daemon's node id, labelled on each container so that reapOrphanContainers finds it after a crash. */
  nodeId: string;
  limits: ContainerLimits;
  gpus?: GpuRequest;
  /** The internal network; created when missing. */
  network?: string;
}

export function llamaServerContainerLauncher(options: LlamaServerContainerOptions): LaunchLlamaServer {
  const network = options.network ?? `infernet-llama-${options.nodeId.slice(0, 12)}`;
  const libraries = sharedLibrariesOf(join(options.binDir, 'llama-server'), options.binDir);
  const version = CURRENT_EXECUTION_TEMPLATE_VERSION;
  return async ({ modelPath, servingArguments }) => {
    await ensureInternalNetwork(options.docker, network);
    const spec = llamaServerContainerSpec({
      version,
      image: options.image,
      owner: { jobId: `llama-server-${createHash('sha256').update(modelPath).digest('hex').slice(0, 16)}`, nodeId: options.nodeId },
      binHostDir: options.binDir,
      libraryHostPaths: libraries,
      modelHostPath: modelPath,
      servingArguments,
      network,
      limits: options.limits,
      ...(options.gpus ? { gpus: options.gpus } : {}),
    });
    const output: string[] = [];
    const keep = (line: string) => {
      output.push(line);
      if (output.length > KEPT_OUTPUT_LINES) output.splice(0, output.length - KEPT_OUTPUT_LINES);
    };
    const container = await startSandboxedContainer({ docker: options.docker, spec, onStdoutLine: keep, maxLineBytes: MAX_OUTPUT_LINE_BYTES });
    let done = false;
    const exited = container.ended.then((end) => {
      done = true;
      for (const line of end.stderrTail) keep(line);
      return end.oomKilled ? `was killed at its memory limit of ${Math.round(options.limits.memoryBytes / 2 ** 20)} MiB` : `code ${end.exitCode}`;
    });
    const address = await addressOn(options.docker, container.id, network).catch(() => undefined);
    if (!address) {
      await container.kill();
      await exited;
      throw new EngineProcessError('llama-server', `the llama-server container ${container.id.slice(0, 12)} has no address on network ${network}`, output.join('\n'));
    }
    const server: LaunchedLlamaServer = {
      baseUrl: `http://${address}:${llamaServerContainerPort(version)}`,
      program: 'llama-server',
      hasExited: () => done,
      exited,
      lastOutput: () => output.join('\n'),
      // The network goes with the last container on it: a node's key is new on every test run, and Docker's address
      // pools hold about 30 networks.
      stop: async () => {
        await container.kill();
        await exited;
        await removeInternalNetworkIfUnused(options.docker, network);
      },
    };
    return server;
  };
}
