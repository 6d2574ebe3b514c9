import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { LLAMA_RPC_COMMIT, LLAMA_RPC_PATCHES, llamaBuildCommandFor, llamaCmakeFlagsFor, llamaRpcBinDir } from './llama-rpc-binaries.js';

const patchesDir = fileURLToPath(new URL('../../../scripts/llama-patches/', import.meta.url));

describe('where the llama.cpp RPC build is found', () => {
  it('names the hash of the patches scripts/build-llama-rpc.sh applies, as the script keys its build', async () => {
    const names = (await readdir(patchesDir)).filter((name) => name.endsWith('.patch')).sort();
    assert.ok(names.length > 0);
    const hash = createHash('sha256');
    for (const name of names) hash.update(await readFile(join(patchesDir, name)));
    assert.equal(LLAMA_RPC_PATCHES, hash.digest('hex').slice(0, 8), 'update LLAMA_RPC_PATCHES after changing scripts/llama-patches');
    const script = await readFile(fileURLToPath(new URL('../../../scripts/build-llama-rpc.sh', import.meta.url)), 'utf8');
    assert.match(script, new RegExp(`LLAMA_COMMIT="${LLAMA_RPC_COMMIT}"`));
  });

  it('looks in the cache for the build of that commit with those patches', () => {
    assert.equal(llamaRpcBinDir({ INFERNET_CACHE: '/cache' }), `/cache/llama-rpc-${LLAMA_RPC_COMMIT}-${LLAMA_RPC_PATCHES}/build/bin`);
  });

  it('looks for a GPU build where the script puts it: keyed by its cmake flags, hashed as the script hashes them', () => {
    const source = readFileSync(fileURLToPath(new URL('../../../scripts/build-llama-rpc.sh', import.meta.url)), 'utf8');
    assert.match(source, /key="\$key-\$\(printf '%s' "\$extra_flags" \| sha256 \| cut -c1-8\)"/, 'the script keys a build by the first 8 hex digits of its flags\' sha256');
    const script = execFileSync('bash', ['-c', 'printf \'%s\' "$1" | sha256sum | cut -c1-8', 'hash', '-DGGML_CUDA=ON'], { encoding: 'utf8' }).trim();
    assert.equal(llamaRpcBinDir({ INFERNET_CACHE: '/cache' }, '-DGGML_CUDA=ON'), `/cache/llama-rpc-${LLAMA_RPC_COMMIT}-${LLAMA_RPC_PATCHES}-${script}/build/bin`);
  });

  it('builds each backend with its flags, and says how', () => {
    assert.deepEqual(
      ([false, 'cuda', 'vulkan', 'metal'] as const).map((backend) => [llamaCmakeFlagsFor(backend), llamaBuildCommandFor(backend)]),
      [
        ['', 'bash scripts/build-llama-rpc.sh'],
        ['-DGGML_CUDA=ON', 'INFERNET_LLAMA_CMAKE_FLAGS="-DGGML_CUDA=ON" bash scripts/build-llama-rpc.sh'],
        ['-DGGML_VULKAN=ON', 'INFERNET_LLAMA_CMAKE_FLAGS="-DGGML_VULKAN=ON" bash scripts/build-llama-rpc.sh'],
        ['', 'bash scripts/build-llama-rpc.sh'],
      ],
    );
  });
});
