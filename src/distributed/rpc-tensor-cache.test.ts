import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { GgufTensorInfo } from '../models/index.js';
import { writeRandomLlamaGguf } from '../models/index.js';
import { fnv1a64, fnv1a64Hex, fnv1a64Start, fnv1a64Update, hashedTensorsOf, prefillTensorCache, rpcCacheEntriesOf, RPC_HASH_THRESHOLD_BYTES } from './rpc-tensor-cache.js';

describe("llama.cpp's RPC cache entry names (FNV-1a 64, as ggml-rpc.cpp computes them)", () => {
  // Reference values: the FNV spec's test vectors, and Python's big integers for the rest.
  const vectors: [string, Uint8Array, string][] = [
    ['empty', new Uint8Array(0), 'cbf29ce484222325'],
    ['"a"', Buffer.from('a'), 'af63dc4c8601ec8c'],
    ['"foobar"', Buffer.from('foobar'), '85944171f73967e8'],
    ['0..255 three times', Buffer.concat([0, 1, 2].map(() => Buffer.from(Array.from({ length: 256 }, (_, i) => i)))), '4f33c513c2e95c25'],
  ];
  for (const [name, bytes, expected] of vectors) {
    it(`hashes ${name} to ${expected}`, () => assert.equal(fnv1a64(bytes), expected));
  }

  it('gives the same hash fed in chunks of any size as in one piece', () => {
    const bytes = Buffer.from(Array.from({ length: 10_000 }, (_, i) => (i * 7919 + 13) & 0xff));
    const whole = fnv1a64(bytes);
    for (const chunk of [1, 3, 4096]) {
      const state = fnv1a64Start();
      for (let offset = 0; offset < bytes.length; offset += chunk) fnv1a64Update(state, bytes.subarray(offset, offset + chunk));
      assert.equal(fnv1a64Hex(state), whole, `chunks of ${chunk}`);
    }
  });
});

describe('which tensors of a GGUF llama.cpp offers by hash', () => {
  const tensor = (name: string, offset: number, bytes: number | undefined): GgufTensorInfo => ({ name, shape: [1], ggmlType: 0, typeName: 'F32', offset, elements: 1, bytes });
  const cases: [string, GgufTensorInfo, boolean][] = [
    ['one byte over the threshold', tensor('big', 0, RPC_HASH_THRESHOLD_BYTES + 1), true],
    ['exactly the threshold (llama.cpp needs more)', tensor('edge', 0, RPC_HASH_THRESHOLD_BYTES), false],
    ['a small norm', tensor('norm', 0, 4096), false],
    ['an unknown type (size unknown)', tensor('odd', 0, undefined), false],
  ];
  for (const [name, info, hashed] of cases) {
    it(`${hashed ? 'offers' : 'uploads'} ${name}`, () => assert.equal(hashedTensorsOf([info], 1000).length, hashed ? 1 : 0));
  }

  it('places each at the data section plus its own offset', () => {
    assert.deepEqual(hashedTensorsOf([tensor('a', 64, RPC_HASH_THRESHOLD_BYTES + 32)], 4096), [{ name: 'a', offset: 4160, bytes: RPC_HASH_THRESHOLD_BYTES + 32 }]);
  });
});

describe('pre-filling the cache from a GGUF', () => {
  it('writes one file per large tensor, named by the hash of its bytes, and keeps them on a second run', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'infernet-prefill-'));
    try {
      const model = join(dir, 'wide.gguf');
      // One layer whose feed-forward matrices are just over the threshold in F32 (512 x 5136 x 4 bytes).
      await writeRandomLlamaGguf(model, { layers: 1, hiddenSize: 512, heads: 8, kvHeads: 2, feedForwardLength: 5136, vocabularySize: 512, contextLength: 256 }, { seed: 3, tensorType: 'F32' });
      const entries = await rpcCacheEntriesOf(model);
      assert.deepEqual(entries.map((e) => e.tensor).sort(), ['blk.0.ffn_down.weight', 'blk.0.ffn_gate.weight', 'blk.0.ffn_up.weight']);
      const first = await prefillTensorCache({ modelPath: model, cacheDir: join(dir, 'cache'), modelKey: 'bafy-test' });
      assert.deepEqual(first, { tensors: 3, written: 3, bytes: 3 * 512 * 5136 * 4 });
      const files = (await readdir(join(dir, 'cache', 'rpc'))).sort();
      assert.deepEqual(files, entries.map((e) => e.file).sort());
      for (const file of files) assert.equal(fnv1a64(await readFile(join(dir, 'cache', 'rpc', file))), file, 'each file is named by the hash of its own bytes');
      const second = await prefillTensorCache({ modelPath: model, cacheDir: join(dir, 'cache'), modelKey: 'bafy-test' });
      assert.deepEqual(second, { tensors: 3, written: 0, bytes: first.bytes });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
