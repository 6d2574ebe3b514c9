// The provider's runtime when provider.engine is llama-server: llama.cpp's own server (built from source by
// scripts/build-llama-rpc.sh for this machine's GPU or CPU), one per model, up to `slots` jobs decoded together.
// Measured on a 2-core CPU (bench/warm-engine.ts runs both engines in one run): it decodes one job on both cores
// faster than on one, where node-llama-cpp's prebuilt build decodes it slower, and 4 jobs together about twice as fast
// as the warm engine does.
import type { NodeConfig } from '../config/index.js';
import { detectHardware } from '../discovery/hardware/index.js';
import { llamaBuildCommandFor, llamaCmakeFlagsFor, llamaRpcBinDir, LlamaServerEngine, locateLlamaRpcBinaries } from '../distributed/index.js';
import { selectInferenceBackend, type InferenceBackend } from '../execution/index.js';
import type { Logger } from '../log/index.js';
import type { ProviderRuntime } from './provider-runtime.js';

/** Why a provider with engine llama-server and the Docker sandbox does not start its engine. */
export const LLAMA_SERVER_NEEDS_SANDBOX_NONE =
  'provider.engine llama-server runs llama.cpp\'s server as a child process, which has no Docker sandbox yet: set provider.sandbox: none to run it unsandboxed (for models and prompts you trust), or use provider.engine llama.cpp, whose warm engine runs in Docker';

export async function openLlamaServerRuntime(config: NodeConfig, logger: Logger): Promise<ProviderRuntime> {
  const { provider } = config;
  if (provider.sandbox !== 'none') {
    logger.error(LLAMA_SERVER_NEEDS_SANDBOX_NONE);
    return { refusal: LLAMA_SERVER_NEEDS_SANDBOX_NONE };
  }
  const backend = selectInferenceBackend(await detectHardware());
  const build = llamaServerBuildFor(backend, config.distributed.binDir);
  if ('refusal' in build) {
    logger.error(build.refusal);
    return build;
  }
  logger.warn({ binDir: build.binDir, backend: backend.gpu || 'cpu', device: backend.device, slots: provider.slots, threads: provider.threads, batchThreads: provider.batchThreads ?? provider.threads }, 'WARNING: llama-server runs as a child process WITHOUT a sandbox, as configured (provider.sandbox: none)');
  const engine = new LlamaServerEngine({
    binDir: build.binDir,
    threads: provider.threads,
    ...(provider.batchThreads !== undefined ? { batchThreads: provider.batchThreads } : {}),
    contextSize: provider.contextSize,
    slots: provider.slots,
  });
  return { engine, state: () => ({ sandbox: 'none', backend: { gpu: backend.gpu || 'cpu', device: backend.device }, engines: [] }) };
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
