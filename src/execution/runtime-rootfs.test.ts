import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { repositoryRoot } from './repository-scripts.js';

const run = promisify(execFile);

/**
 * The runtime image's root filesystem (docker/assemble-runtime-rootfs.mjs), planned from a checkout that is this one
 * plus a CUDA build of node-llama-cpp whose CUDA runtime is not installed: a shared object compiled here, linked
 * against a stand-in libcudart.so.13 that is then removed (no CUDA on this machine), as the real package's is.
 */
describe('the runtime image with a GPU build that cannot load here', () => {
  let dir: string;
  let checkout: string;
  const repo = repositoryRoot();
  const assembler = join(repo, 'docker', 'assemble-runtime-rootfs.mjs');
  const cudaPackage = '@node-llama-cpp/linux-x64-cuda';

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'runtime-rootfs-'));
    checkout = join(dir, 'checkout');
    const modules = join(checkout, 'node_modules');
    await mkdir(join(modules, '@node-llama-cpp'), { recursive: true });
    await symlink(join(repo, 'dist'), join(checkout, 'dist'));
    for (const entry of await readdir(join(repo, 'node_modules'))) {
      if (entry !== '@node-llama-cpp' && entry !== '.bin') await symlink(join(repo, 'node_modules', entry), join(modules, entry));
    }
    for (const entry of await readdir(join(repo, 'node_modules', '@node-llama-cpp'))) {
      if (!entry.includes('cuda')) await symlink(join(repo, 'node_modules', '@node-llama-cpp', entry), join(modules, '@node-llama-cpp', entry));
    }
    const cuda = join(modules, cudaPackage);
    const bins = join(cuda, 'bins', 'linux-x64-cuda');
    await mkdir(bins, { recursive: true });
    await writeFile(join(cuda, 'package.json'), JSON.stringify({ name: cudaPackage, version: '3.21.1' }));
    await writeFile(join(dir, 'empty.c'), 'int infernet_test_symbol(void) { return 0; }\n');
    await run('gcc', ['-shared', '-fPIC', '-o', join(dir, 'libcudart.so.13'), join(dir, 'empty.c'), '-Wl,-soname,libcudart.so.13']);
    await run('gcc', ['-shared', '-fPIC', '-o', join(bins, 'libggml-cuda.so'), join(dir, 'empty.c'), '-Wl,--no-as-needed', `-L${dir}`, '-l:libcudart.so.13']);
    await rm(join(dir, 'libcudart.so.13'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('leaves the GPU build out, saying why, rather than failing the image every engine runs in', async () => {
    const { stderr } = await run(process.execPath, [assembler, 'hash', checkout]);
    assert.match(stderr, /node-llama-cpp's cuda build is left out of the image: .*linux-x64-cuda does not find libcudart\.so\.13/);
    const rootfs = join(dir, 'rootfs');
    await run(process.execPath, [assembler, 'write', checkout, rootfs]);
    assert.ok(!existsSync(join(rootfs, 'app', 'node_modules', cudaPackage)), 'the CUDA build is not in the image');
    assert.ok(existsSync(join(rootfs, 'app', 'node_modules', '@node-llama-cpp', 'linux-x64', 'package.json')), 'the CPU build is');
    assert.ok(existsSync(join(rootfs, 'app', 'dist', 'src', 'execution', 'engine-worker.js')));
  });
});
