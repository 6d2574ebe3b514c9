import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { checkLlamaGpuBuild, isGpuDriverLibrary, llamaGpuBuildsFor, LlamaGpuBuildUnusableError, missingLibrariesOf } from './llama-gpu-build.js';

describe("node-llama-cpp's GPU builds", () => {
  it('names the packages node-llama-cpp tries for each backend and platform, in its order', () => {
    const names = (...args: Parameters<typeof llamaGpuBuildsFor>) => llamaGpuBuildsFor(...args).map((build) => `${build.packageName} ${build.backendLibrary ?? '-'}`);
    assert.deepEqual(names('cuda', 'linux', 'x64'), [
      '@node-llama-cpp/linux-x64-cuda bins/linux-x64-cuda/libggml-cuda.so',
      '@node-llama-cpp/linux-x64-cuda-ext bins/linux-x64-cuda/fallback/libggml-cuda.so',
    ]);
    assert.deepEqual(names('cuda', 'win32', 'x64'), ['@node-llama-cpp/win-x64-cuda bins/win-x64-cuda/ggml-cuda.dll', '@node-llama-cpp/win-x64-cuda-ext bins/win-x64-cuda/fallback/ggml-cuda.dll']);
    assert.deepEqual(names('vulkan', 'linux', 'x64'), ['@node-llama-cpp/linux-x64-vulkan bins/linux-x64-vulkan/libggml-vulkan.so']);
    assert.deepEqual(names('metal', 'darwin', 'arm64'), ['@node-llama-cpp/mac-arm64-metal -']);
    // None published: a provider there is told to use the llama-server engine, which builds from source.
    assert.deepEqual(names('cuda', 'linux', 'arm64'), []);
    assert.deepEqual(names('metal', 'darwin', 'x64'), []);
  });

  it("reads the libraries ldd does not find, from ldd's output for the CUDA build on a machine without CUDA", () => {
    // Recorded: `ldd node_modules/@node-llama-cpp/linux-x64-cuda/bins/linux-x64-cuda/libggml-cuda.so` (3.21.1, Debian 12).
    const recorded = [
      '\tlinux-vdso.so.1 (0x00007fcb8cfc1000)',
      '\tlibggml-base.so => /work/main/node_modules/@node-llama-cpp/linux-x64-cuda/bins/linux-x64-cuda/libggml-base.so (0x00007fcb83d31000)',
      '\tlibcudart.so.13 => not found',
      '\tlibcublas.so.13 => not found',
      '\tlibcuda.so.1 => not found',
      '\tlibstdc++.so.6 => /lib/x86_64-linux-gnu/libstdc++.so.6 (0x00007fcb83a00000)',
      '\t/lib64/ld-linux-x86-64.so.2 (0x00007fcb8cfc3000)',
    ].join('\n');
    assert.deepEqual(missingLibrariesOf(recorded), ['libcudart.so.13', 'libcublas.so.13', 'libcuda.so.1']);
    assert.deepEqual(missingLibrariesOf(''), []);
  });

  it("tells the GPU driver's libraries (which the NVIDIA container toolkit mounts) from the CUDA toolkit's", () => {
    for (const name of ['libcuda.so.1', '/usr/lib/x86_64-linux-gnu/libcuda.so.590.48.01', 'libnvidia-ml.so.1', 'libnvidia-ptxjitcompiler.so.1']) assert.ok(isGpuDriverLibrary(name), name);
    for (const name of ['libcudart.so.13', 'libcublas.so.12', 'libcublasLt.so.13', 'libvulkan.so.1', 'libstdc++.so.6']) assert.ok(!isGpuDriverLibrary(name), name);
  });
});

/**
 * Real libraries and real ldd: shared objects compiled here that link against stand-ins named as CUDA's runtime
 * (no CUDA on this machine), laid out as node-llama-cpp's packages are.
 */
describe('checkLlamaGpuBuild (libraries built here with gcc, checked with ldd)', () => {
  let dir: string;
  let stubs: string;
  const run = promisify(execFile);
  /** A shared object named `soname`, linked against the libraries in `needs` (each found in `stubs` at link time). */
  const sharedObject = async (path: string, needs: string[], soname = 'libtest.so') => {
    await mkdir(join(path, '..'), { recursive: true });
    const source = join(stubs, 'empty.c');
    const links = needs.flatMap((name) => [`-l:${name}`]);
    await run('gcc', ['-shared', '-fPIC', '-o', path, source, `-Wl,-soname,${soname}`, "-Wl,-rpath,$ORIGIN", '-Wl,--no-as-needed', `-L${stubs}`, ...links]);
  };
  const packageAt = async (root: string, name: string) => {
    await mkdir(join(root, 'node_modules', name), { recursive: true });
    await writeFile(join(root, 'node_modules', name, 'package.json'), JSON.stringify({ name, version: '3.21.1' }));
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'llama-gpu-build-'));
    stubs = join(dir, 'stubs');
    await mkdir(stubs);
    await writeFile(join(stubs, 'empty.c'), 'int infernet_test_symbol(void) { return 0; }\n');
    for (const name of ['libcudart.so.13', 'libcublas.so.13', 'libcudart.so.12', 'libcublas.so.12', 'libggml-base.so']) await sharedObject(join(stubs, name), [], name);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const rootWith = async (name: string) => {
    const root = join(dir, name);
    await packageAt(root, 'node-llama-cpp');
    return root;
  };

  it('refuses where no CUDA build is installed, naming both packages at node-llama-cpp\'s version and the install command', async () => {
    const root = await rootWith('none');
    const error = await checkLlamaGpuBuild('cuda', { packagesRoot: root, platform: 'linux', arch: 'x64' }).then(() => undefined, (thrown: unknown) => thrown);
    assert.ok(error instanceof LlamaGpuBuildUnusableError);
    assert.equal(error.code, 'engine_failed');
    assert.match(error.message, /@node-llama-cpp\/linux-x64-cuda@3\.21\.1, @node-llama-cpp\/linux-x64-cuda-ext@3\.21\.1\) is not installed: run bash scripts\/install-llama-gpu-build\.sh/);
    assert.match(error.message, /provider\.engine: llama-server/);
  });

  it('refuses an installed CUDA build whose CUDA runtime is missing, naming the libraries; the fallback finds the main build\'s libggml-base.so', async () => {
    const root = await rootWith('no-runtime');
    await packageAt(root, '@node-llama-cpp/linux-x64-cuda');
    await packageAt(root, '@node-llama-cpp/linux-x64-cuda-ext');
    const mainFolder = join(root, 'node_modules/@node-llama-cpp/linux-x64-cuda/bins/linux-x64-cuda');
    await sharedObject(join(mainFolder, 'libggml-cuda.so'), ['libcudart.so.13', 'libcublas.so.13']);
    await sharedObject(join(mainFolder, 'libggml-base.so'), [], 'libggml-base.so');
    await sharedObject(join(root, 'node_modules/@node-llama-cpp/linux-x64-cuda-ext/bins/linux-x64-cuda/fallback/libggml-cuda.so'), ['libggml-base.so', 'libcudart.so.12', 'libcublas.so.12']);
    const error = await checkLlamaGpuBuild('cuda', { packagesRoot: root, platform: 'linux', arch: 'x64' }).then(() => undefined, (thrown: unknown) => thrown);
    assert.ok(error instanceof LlamaGpuBuildUnusableError);
    assert.deepEqual(
      error.checks.map((check) => [check.build.packageName, check.installed, check.missingLibraries]),
      [
        ['@node-llama-cpp/linux-x64-cuda', true, ['libcudart.so.13', 'libcublas.so.13']],
        ['@node-llama-cpp/linux-x64-cuda-ext', true, ['libcudart.so.12', 'libcublas.so.12']],
      ],
    );
    assert.match(error.message, /cannot load on this machine: @node-llama-cpp\/linux-x64-cuda does not find libcudart\.so\.13, libcublas\.so\.13 \(it needs .*CUDA 13/);
  });

  it('accepts the CUDA 12 fallback where CUDA 12\'s runtime is installed and 13\'s is not', async () => {
    const root = await rootWith('cuda-12');
    await packageAt(root, '@node-llama-cpp/linux-x64-cuda');
    await packageAt(root, '@node-llama-cpp/linux-x64-cuda-ext');
    const mainFolder = join(root, 'node_modules/@node-llama-cpp/linux-x64-cuda/bins/linux-x64-cuda');
    await sharedObject(join(mainFolder, 'libggml-cuda.so'), ['libcudart.so.13']);
    await sharedObject(join(mainFolder, 'libggml-base.so'), [], 'libggml-base.so');
    const fallbackFolder = join(root, 'node_modules/@node-llama-cpp/linux-x64-cuda-ext/bins/linux-x64-cuda/fallback');
    // CUDA 12's runtime, found where the library's RUNPATH ($ORIGIN) points, as an installed toolkit is found by ld.so.
    await sharedObject(join(fallbackFolder, 'libcudart.so.12'), [], 'libcudart.so.12');
    await sharedObject(join(fallbackFolder, 'libggml-cuda.so'), ['libggml-base.so', 'libcudart.so.12']);
    const check = await checkLlamaGpuBuild('cuda', { packagesRoot: root, platform: 'linux', arch: 'x64' });
    assert.equal(check.build.packageName, '@node-llama-cpp/linux-x64-cuda-ext');
    assert.deepEqual(check.missingLibraries, []);
  });
});
