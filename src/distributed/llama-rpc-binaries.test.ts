import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { LLAMA_RPC_COMMIT, LLAMA_RPC_PATCHES, llamaRpcBinDir } from './llama-rpc-binaries.js';

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
});
