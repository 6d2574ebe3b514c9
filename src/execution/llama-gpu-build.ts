// node-llama-cpp's prebuilt GPU builds: which package serves a backend on this platform, whether it is installed,
// and whether its backend library finds the libraries it links against. The root .npmrc leaves these packages out
// (hundreds of MB each, useless without the GPU), so scripts/install-llama-gpu-build.sh installs them where a GPU
// answers; a provider whose hardware selects a GPU checks here at start-up and refuses, naming what to install,
// rather than failing every job at load or serving on the CPU what its record offers as a GPU.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { InfernetError } from '../errors/index.js';
import type { EngineGpu } from './engine-worker-protocol.js';
import { repositoryRoot } from './repository-scripts.js';

export type GpuBackend = Exclude<EngineGpu, false>;

/** One package of node-llama-cpp's prebuilt builds, and the library in it that loads the GPU backend. */
export interface LlamaGpuBuild {
  packageName: string;
  /** The backend library, relative to the package folder; undefined where the whole build links the GPU itself. */
  backendLibrary?: string;
  /** What provides the libraries the backend library links against, for the operator. */
  needs: string;
}

/** The command that installs a GPU backend's builds into this checkout (scripts/install-llama-gpu-build.sh). */
export const INSTALL_LLAMA_GPU_BUILD_COMMAND = 'bash scripts/install-llama-gpu-build.sh';

/**
 * node-llama-cpp's prebuilt packages for `gpu` on this platform, in the order it tries them: for CUDA on Linux the
 * build linked against CUDA 13's runtime, then its -ext package, whose fallback library links against CUDA 12's.
 * Empty where node-llama-cpp publishes none (it would have to build from source).
 */
export function llamaGpuBuildsFor(gpu: GpuBackend, platform: NodeJS.Platform, arch: string): LlamaGpuBuild[] {
  const os = platform === 'win32' ? 'win' : platform === 'darwin' ? 'mac' : platform;
  const library = (file: string) => (platform === 'win32' ? file.replace(/^lib/, '').replace(/\.so$/, '.dll') : file);
  const target = `${os}-${arch}`;
  if (gpu === 'cuda' && (target === 'linux-x64' || target === 'win-x64')) {
    return [
      { packageName: `@node-llama-cpp/${target}-cuda`, backendLibrary: `bins/${target}-cuda/${library('libggml-cuda.so')}`, needs: "the NVIDIA driver and CUDA 13's runtime and cuBLAS (libcudart.so.13, libcublas.so.13)" },
      { packageName: `@node-llama-cpp/${target}-cuda-ext`, backendLibrary: `bins/${target}-cuda/fallback/${library('libggml-cuda.so')}`, needs: "the NVIDIA driver and CUDA 12's runtime and cuBLAS (libcudart.so.12, libcublas.so.12)" },
    ];
  }
  if (gpu === 'vulkan' && (target === 'linux-x64' || target === 'win-x64')) {
    return [{ packageName: `@node-llama-cpp/${target}-vulkan`, backendLibrary: `bins/${target}-vulkan/${library('libggml-vulkan.so')}`, needs: 'the Vulkan loader and the GPU driver (libvulkan.so.1)' }];
  }
  if (gpu === 'metal' && target === 'mac-arm64') return [{ packageName: '@node-llama-cpp/mac-arm64-metal', needs: 'macOS on Apple silicon' }];
  return [];
}

/**
 * Libraries the GPU driver installs on the host: a container gets them from the NVIDIA container toolkit, matching
 * the host's kernel module, so the runtime image must not carry copies of its own.
 */
export function isGpuDriverLibrary(name: string): boolean {
  return /^lib(cuda|nvidia-[\w-]+|nvcuvid|nvoptix)\.so(\.\d+)*$/.test(basename(name));
}

/** The libraries `ldd` reports as not found, by name, in its order. */
export function missingLibrariesOf(lddOutput: string): string[] {
  return [...lddOutput.matchAll(/^\s*(\S+)\s+=>\s+not found\s*$/gm)].map((match) => match[1] ?? '');
}

/** What the check found for one build: installed or not, and the libraries its backend library does not find. */
export interface LlamaGpuBuildCheck {
  build: LlamaGpuBuild;
  installed: boolean;
  missingLibraries: string[];
}

/** The backend cannot load: no build installed, or none finds its libraries. The message says what to do. */
export class LlamaGpuBuildUnusableError extends InfernetError {
  override readonly name = 'LlamaGpuBuildUnusableError';
  constructor(
    readonly gpu: GpuBackend,
    readonly checks: LlamaGpuBuildCheck[],
    version: string,
  ) {
    super('engine_failed', describeUnusable(gpu, checks, version));
  }
}

function describeUnusable(gpu: GpuBackend, checks: LlamaGpuBuildCheck[], version: string): string {
  const backend = gpu === 'cuda' ? 'CUDA' : gpu === 'vulkan' ? 'Vulkan' : 'Metal';
  if (!checks.length) return `node-llama-cpp ${version} publishes no ${backend} build for ${process.platform}-${process.arch}: set provider.engine: llama-server, which builds llama.cpp for this GPU from source`;
  const installed = checks.filter((check) => check.installed);
  if (!installed.length) {
    const names = checks.map((check) => `${check.build.packageName}@${version}`).join(', ');
    return `this machine has a GPU for ${backend}, but node-llama-cpp's ${backend} build (${names}) is not installed: run ${INSTALL_LLAMA_GPU_BUILD_COMMAND} (scripts/setup.sh runs it), or set provider.engine: llama-server`;
  }
  const why = installed.map((check) => `${check.build.packageName} does not find ${check.missingLibraries.join(', ')} (it needs ${check.build.needs})`).join('; ');
  return `node-llama-cpp's ${backend} build cannot load on this machine: ${why}. Install that runtime, or set provider.engine: llama-server`;
}

export interface CheckLlamaGpuBuildOptions {
  /** The folder whose node_modules holds node-llama-cpp's packages: this checkout's by default. */
  packagesRoot?: string;
  platform?: NodeJS.Platform;
  arch?: string;
}

/** Checks that node-llama-cpp can load `gpu` here; throws LlamaGpuBuildUnusableError, saying why, when it cannot. */
export async function checkLlamaGpuBuild(gpu: GpuBackend, options: CheckLlamaGpuBuildOptions = {}): Promise<LlamaGpuBuildCheck> {
  const root = options.packagesRoot ?? repositoryRoot();
  const platform = options.platform ?? process.platform;
  const builds = llamaGpuBuildsFor(gpu, platform, options.arch ?? process.arch);
  const checks: LlamaGpuBuildCheck[] = [];
  // Libraries of the first installed build's folder count as found for the next: node-llama-cpp loads the CUDA
  // fallback after the main build's libggml-base.so, which the fallback finds loaded by name.
  const loadedFolders: string[] = [];
  for (const build of builds) {
    const folder = join(root, 'node_modules', build.packageName);
    const installed = existsSync(join(folder, 'package.json'));
    const library = build.backendLibrary && join(folder, build.backendLibrary);
    const missing = installed && library && platform === 'linux' ? await missingLibrariesFor(library, loadedFolders) : [];
    const check = { build, installed, missingLibraries: missing };
    if (installed && !missing.length) return check;
    if (installed && library) loadedFolders.push(dirname(library));
    checks.push(check);
  }
  throw new LlamaGpuBuildUnusableError(gpu, checks, nodeLlamaCppVersion(root));
}

/** What `ldd` does not find for `library`, leaving out what sits in `loadedFolders`. */
async function missingLibrariesFor(library: string, loadedFolders: string[]): Promise<string[]> {
  if (!existsSync(library)) return [basename(library)];
  const { stdout } = await promisify(execFile)('ldd', [library], { encoding: 'utf8' });
  return missingLibrariesOf(stdout).filter((name) => !loadedFolders.some((folder) => existsSync(join(folder, name))));
}

function nodeLlamaCppVersion(root: string): string {
  try {
    return (JSON.parse(readFileSync(join(root, 'node_modules', 'node-llama-cpp', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'not installed';
  }
}
