// Where scripts/build-llama-rpc.sh put llama.cpp's RPC worker and server: built once per llama.cpp commit into
// the cache, never per test. Keep LLAMA_RPC_COMMIT in step with the script.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { InfernetError } from '../errors/index.js';

export const LLAMA_RPC_COMMIT = '0c1e57098';
/**
 * The hash (sha256, first 8 hex digits) of Infernet's patches to that llama.cpp, scripts/llama-patches/*.patch in
 * name order: part of the build's cache key (a test checks it against the files).
 */
export const LLAMA_RPC_PATCHES = '74691fd1';
/** The llama-cpp-python release whose sdist vendors that commit. */
export const LLAMA_CPP_PYTHON_VERSION = '0.3.36';
export const LLAMA_RPC_ENGINE_ID = `llama.cpp/llama-server@${LLAMA_RPC_COMMIT}`;

export class LlamaRpcNotBuiltError extends InfernetError {
  override readonly name = 'LlamaRpcNotBuiltError';
  constructor(readonly binDir: string) {
    super('internal', `llama.cpp with RPC is not built at ${binDir}: run scripts/build-llama-rpc.sh once (5-15 minutes)`);
  }
}

export interface LlamaRpcBinaries {
  binDir: string;
  rpcServer: string;
  llamaServer: string;
}

/**
 * Where scripts/build-llama-rpc.sh puts the build made with `cmakeFlags` (its INFERNET_LLAMA_CMAKE_FLAGS): the CPU
 * build without; with them, a folder keyed by their hash too, as the script keys it.
 */
export function llamaRpcBinDir(env: NodeJS.ProcessEnv = process.env, cmakeFlags = ''): string {
  const cache = env.INFERNET_CACHE ?? join(homedir(), '.cache', 'infernet');
  const flagsKey = cmakeFlags ? `-${createHash('sha256').update(cmakeFlags).digest('hex').slice(0, 8)}` : '';
  return join(cache, `llama-rpc-${LLAMA_RPC_COMMIT}-${LLAMA_RPC_PATCHES}${flagsKey}`, 'build', 'bin');
}

/** The llama.cpp backends a provider's hardware selects (see selectInferenceBackend); false is the CPU. */
export type LlamaBuildBackend = false | 'cuda' | 'vulkan' | 'metal';

/** The cmake flags that build llama.cpp for `backend`: none for the CPU, nor for Metal, on by default on macOS. */
export function llamaCmakeFlagsFor(backend: LlamaBuildBackend): string {
  if (backend === 'cuda') return '-DGGML_CUDA=ON';
  if (backend === 'vulkan') return '-DGGML_VULKAN=ON';
  return '';
}

/** The command that builds llama.cpp for `backend` into the folder llamaRpcBinDir names for it. */
export function llamaBuildCommandFor(backend: LlamaBuildBackend): string {
  const flags = llamaCmakeFlagsFor(backend);
  return `${flags ? `INFERNET_LLAMA_CMAKE_FLAGS="${flags}" ` : ''}bash scripts/build-llama-rpc.sh`;
}

/** The CPU build's binaries, or `binDir` when given (a GPU build); throws LlamaRpcNotBuiltError when absent. */
export function locateLlamaRpcBinaries(binDir = llamaRpcBinDir()): LlamaRpcBinaries {
  const binaries = { binDir, rpcServer: join(binDir, 'ggml-rpc-server'), llamaServer: join(binDir, 'llama-server') };
  if (!existsSync(binaries.rpcServer) || !existsSync(binaries.llamaServer) || !existsSync(join(binDir, '..', '..', 'COMPLETE'))) {
    throw new LlamaRpcNotBuiltError(binDir);
  }
  return binaries;
}
