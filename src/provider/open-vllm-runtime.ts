// The provider's runtime when provider.engine is vllm: where its vLLM servers run (the vllm template's container on the
// GPU, or a command), what the operator reads of them in the log and in `infernet status --json`.
import { availableParallelism } from 'node:os';
import Docker from 'dockerode';
import type { NodeConfig } from '../config/index.js';
import { chooseJobRuntime, DEFAULT_CONTAINER_LIMITS, detectDockerEngine, type EngineStatus, type InferenceBackend } from '../execution/index.js';
import { VllmEngine, vllmCommandLauncher, vllmContainerLauncher, type VllmEngineStatus, type VllmServerEvent } from '../inference/index.js';
import type { Logger } from '../log/index.js';
import type { EngineChangeListener, ProviderEngineState, ProviderRuntime } from './provider-runtime.js';

/**
 * vLLM (provider.engine: vllm): one supervised vLLM OpenAI server per model, in the `vllm` template's container
 * on the GPU (sandbox: docker), or `vllm serve` as a child process (sandbox: none). Refused without an NVIDIA GPU
 * under Docker: the template's container needs one.
 */
export async function openVllmRuntime(config: NodeConfig, { nodeId, backend }: { nodeId: string; backend: InferenceBackend }, logger: Logger, onEngineChange: EngineChangeListener): Promise<ProviderRuntime> {
  const { provider } = config;
  const { vllm } = provider;
  const settings = { gpuMemoryUtilization: vllm.gpuMemoryUtilization, extraArgs: vllm.extraArgs, ...(vllm.maxModelLength !== undefined ? { maxModelLength: vllm.maxModelLength } : {}) };
  const common = {
    readyTimeoutMs: vllm.startTimeoutSeconds * 1000,
    onEvent: (event: VllmServerEvent) => {
      logVllmEvent(logger, event);
      onEngineChange();
    },
  };
  let engine: VllmEngine;
  let sandbox: ProviderEngineState['sandbox'];
  if (provider.sandbox === 'none') {
    logger.warn({ command: vllm.command.join(' ') }, 'WARNING: vLLM runs as a child process WITHOUT a sandbox, as configured (provider.sandbox: none)');
    engine = new VllmEngine({ ...common, launch: vllmCommandLauncher({ ...settings, command: vllm.command }) });
    sandbox = 'none';
  } else {
    const runtime = chooseJobRuntime({ docker: await detectDockerEngine(), allowUnsandboxedLocalRuntime: false });
    if (runtime.kind !== 'docker') {
      logger.error(runtime.notice);
      return { refusal: runtime.notice };
    }
    if (!backend.containerGpus) {
      const refusal = 'this provider refuses jobs: provider.engine is vllm and its container needs an NVIDIA GPU, and none answers (use llama.cpp, or sandbox: none with a vLLM build for this machine)';
      logger.error(refusal);
      return { refusal };
    }
    const docker = new Docker();
    const image = vllm.image;
    // vLLM's API server, engine core and compiler workers are processes and threads of their own, and Triton's kernels
    // compile into /tmp: the llama.cpp engine's pids and tmpfs bounds would stop it. Its CPUs are the machine's.
    const limits = { ...DEFAULT_CONTAINER_LIMITS, cpus: availableParallelism(), memoryBytes: vllm.containerMemoryMb * 2 ** 20, pids: 4096, tmpfsBytes: 4 * 2 ** 30 };
    engine = new VllmEngine({ ...common, idSuffix: '+docker', launch: vllmContainerLauncher({ ...settings, docker, nodeId, gpus: backend.containerGpus, limits, ...(image ? { image } : {}) }) });
    sandbox = 'docker';
  }
  logger.info({ backend: backend.gpu || 'cpu', device: backend.device }, 'vLLM engine chosen');
  return { engine, state: () => ({ sandbox, backend: { gpu: backend.gpu || 'cpu', device: backend.device }, engines: engine.status().map(engineStatusOfVllm) }) };
}

function engineStatusOfVllm(status: VllmEngineStatus): EngineStatus {
  const state = status.state === 'ready' ? 'ready' : status.state === 'starting' || status.state === 'restarting' ? 'loading' : 'stopped';
  return { modelPath: status.modelPath, state, loads: status.starts, restarts: status.restarts, activeJobs: status.activeJobs, reusedPromptTokens: 0, ...(status.lastError ? { lastError: status.lastError } : {}) };
}

/** What the operator reads about each vLLM server: ready, failed starts and crashes with their last output. */
function logVllmEvent(logger: Logger, event: VllmServerEvent): void {
  if (event.type === 'ready') logger.info({ model: event.modelPath, server: event.processId, startMs: Math.round(event.startMs) }, 'vLLM server ready');
  else if (event.type === 'start-failed') logger.error({ model: event.modelPath, retrying: event.retrying, err: event.error.message }, 'vLLM server did not start');
  else logger.error({ model: event.modelPath, server: event.processId, restarting: event.restarting, err: event.error.message }, 'vLLM server crashed');
}
