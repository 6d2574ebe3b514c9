import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { batchedBenchIn, measureBatchedDecode, parseBatchedBenchTable } from './llama-batched-bench.js';
import { locateLlamaRpcBinaries } from '../src/distributed/index.js';
import { sharedModelPath } from '../src/models/shared-test-models.js';

// Recorded from llama.cpp 0c1e57098's llama-batched-bench on the project's 100M benchmark model, 2 threads.
const RECORDED = `
llama_batched_bench: n_kv_max = 2048, n_batch = 2048, n_ubatch = 512, flash_attn = -1, is_pp_shared = 0, is_tg_separate = 0, n_gpu_layers = -1, n_threads = 2, n_threads_batch = 2

|    PP |     TG |    B |   N_KV |   T_PP s | S_PP t/s |   T_TG s | S_TG t/s |      T s |    S t/s |
|-------|--------|------|--------|----------|----------|----------|----------|----------|----------|
|    16 |      8 |    1 |     24 |    0.026 |   605.67 |    0.037 |   214.59 |    0.064 |   376.78 |
|    16 |      8 |    4 |     96 |    0.067 |   960.30 |    0.124 |   258.92 |    0.190 |   504.63 |
`;

describe('llama-batched-bench output', () => {
  it('reads each row by its header: sequences and total decode tokens/s', () => {
    assert.deepEqual(parseBatchedBenchTable(RECORDED), [
      { promptTokens: 16, decodeTokens: 8, sequences: 1, decodeTokensPerSecond: 214.59 },
      { promptTokens: 16, decodeTokens: 8, sequences: 4, decodeTokensPerSecond: 258.92 },
    ]);
  });

  it('reads the columns by name when their order changes', () => {
    const reordered = '| B | S_TG t/s | PP | TG |\n|---|---|---|---|\n| 8 | 449.46 | 16 | 64 |\n';
    assert.deepEqual(parseBatchedBenchTable(reordered), [{ promptTokens: 16, decodeTokens: 64, sequences: 8, decodeTokensPerSecond: 449.46 }]);
  });

  it('refuses output without its table, quoting it', () => {
    assert.throws(() => parseBatchedBenchTable('error: failed to load model'), /no llama-batched-bench table.*failed to load model/);
  });

  it('runs the built tool: 1 and 2 sequences of the shared test model, each with a positive rate', { timeout: 120_000 }, async () => {
    const binary = batchedBenchIn(locateLlamaRpcBinaries().binDir);
    assert.ok(binary, 'scripts/build-llama-rpc.sh builds llama-batched-bench');
    const rates = await measureBatchedDecode(binary, { modelPath: sharedModelPath('stories260K.gguf'), threads: 1, contextSize: 2048, promptTokens: 8, decodeTokens: 8, sequences: [1, 2] });
    assert.deepEqual([...rates.keys()], [1, 2]);
    for (const rate of rates.values()) assert.ok(rate > 0, `rate ${rate}`);
  });
});
