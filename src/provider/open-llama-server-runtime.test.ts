import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { llamaRpcBinDir } from '../distributed/index.js';
import { llamaServerBuildFor } from './open-llama-server-runtime.js';

const cpu = { gpu: false as const, device: 'cpu' };
const h100 = { gpu: 'cuda' as const, device: 'GPU 0 NVIDIA H100 80GB HBM3' };

/** A build folder as scripts/build-llama-rpc.sh leaves it: its two programs and COMPLETE (files only: where, not what). */
async function fakeBuild(binDir: string): Promise<void> {
  await mkdir(binDir, { recursive: true });
  for (const program of ['ggml-rpc-server', 'llama-server']) await writeFile(join(binDir, program), '');
  await writeFile(join(binDir, '..', '..', 'COMPLETE'), '');
}

describe('the llama.cpp build a llama-server provider runs', () => {
  let cache: string;
  before(async () => {
    cache = await mkdtemp(join(tmpdir(), 'infernet-llama-builds-'));
  });
  after(async () => {
    await rm(cache, { recursive: true, force: true });
  });

  it('on an NVIDIA GPU without a CUDA build, refuses with the command that builds one (never the CPU behind the operator\'s back)', async () => {
    await fakeBuild(llamaRpcBinDir({ INFERNET_CACHE: cache }));
    const build = llamaServerBuildFor(h100, undefined, { INFERNET_CACHE: cache });
    assert.ok('refusal' in build);
    assert.match(build.refusal, /not built for GPU 0 NVIDIA H100 80GB HBM3 \(cuda\)/);
    assert.match(build.refusal, /INFERNET_LLAMA_CMAKE_FLAGS="-DGGML_CUDA=ON" bash scripts\/build-llama-rpc\.sh/);
  });

  it('runs the CUDA build once it is there, and the CPU build on a CPU', async () => {
    const cudaBinDir = llamaRpcBinDir({ INFERNET_CACHE: cache }, '-DGGML_CUDA=ON');
    await fakeBuild(cudaBinDir);
    assert.deepEqual(llamaServerBuildFor(h100, undefined, { INFERNET_CACHE: cache }), { binDir: cudaBinDir });
    assert.deepEqual(llamaServerBuildFor(cpu, undefined, { INFERNET_CACHE: cache }), { binDir: llamaRpcBinDir({ INFERNET_CACHE: cache }) });
  });

  it('runs the build named in distributed.binDir, and says when it is not one', async () => {
    const named = join(cache, 'elsewhere', 'build', 'bin');
    const missing = llamaServerBuildFor(h100, named, { INFERNET_CACHE: cache });
    assert.ok('refusal' in missing && missing.refusal.includes(named));
    await fakeBuild(named);
    assert.deepEqual(llamaServerBuildFor(h100, named, { INFERNET_CACHE: cache }), { binDir: named });
  });
});
