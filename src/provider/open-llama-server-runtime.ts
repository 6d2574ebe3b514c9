// The provider's runtime when provider.engine is llama-server: llama.cpp's own server (built from source by
// scripts/build-llama-rpc.sh for this machine's CPU), one per model, up to `slots` jobs decoded together.
// Measured on a 2-core CPU (bench/warm-engine.ts runs both engines in one run): it decodes one job on both cores
// faster than on one, where node-llama-cpp's prebuilt build decodes it slower, and 4 jobs together about twice as fast
// as the warm engine does.
import type { NodeConfig } from '../config/index.js';
import { LlamaServerEngine, locateLlamaRpcBinaries } from '../distributed/index.js';
import type { Logger } from '../log/index.js';
import type { ProviderRuntime } from './provider-runtime.js';

/** Why a provider with engine llama-server and the Docker sandbox does not start its engine. */
export const LLAMA_SERVER_NEEDS_SANDBOX_NONE =
  'provider.engine llama-server runs llama.cpp\'s server as a child process, which has no Docker sandbox yet: set provider.sandbox: none to run it unsandboxed (for models and prompts you trust), or use provider.engine llama.cpp, whose warm engine runs in Docker';

export function openLlamaServerRuntime(config: NodeConfig, logger: Logger): ProviderRuntime {
  const { provider } = config;
  if (provider.sandbox !== 'none') {
    logger.error(LLAMA_SERVER_NEEDS_SANDBOX_NONE);
    return { refusal: LLAMA_SERVER_NEEDS_SANDBOX_NONE };
  }
  let binDir: string;
  try {
    binDir = locateLlamaRpcBinaries().binDir;
  } catch (error) {
    const refusal = (error as Error).message;
    logger.error(refusal);
    return { refusal };
  }
  logger.warn({ binDir, slots: provider.slots, threads: provider.threads, batchThreads: provider.batchThreads ?? provider.threads }, 'WARNING: llama-server runs as a child process WITHOUT a sandbox, as configured (provider.sandbox: none)');
  const engine = new LlamaServerEngine({
    binDir,
    threads: provider.threads,
    ...(provider.batchThreads !== undefined ? { batchThreads: provider.batchThreads } : {}),
    contextSize: provider.contextSize,
    slots: provider.slots,
  });
  return { engine, state: () => ({ sandbox: 'none', backend: { gpu: 'cpu', device: 'cpu' }, engines: [] }) };
}
