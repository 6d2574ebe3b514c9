import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SamplingParams } from '../../protocol/index.js';
import { chunkOf, completionBodyOf, tokenIdOf } from './vllm-client.js';
import { VllmRequestError } from './vllm-errors.js';

describe("a job's sampling as vLLM's /v1/completions body", () => {
  const base = { servedName: 'qwen', prompt: [1, 2, 3], maxTokens: 16, logprobs: 0 };
  const cases: { name: string; sampling: Partial<SamplingParams>; logprobs?: number; expected: Record<string, unknown> }[] = [
    { name: 'greedy, no options', sampling: {}, expected: {} },
    { name: 'sampled with top-k, top-p and a seed', sampling: { temperature: 0.7, topK: 40, topP: 0.9, seed: 7 }, expected: { temperature: 0.7, top_k: 40, top_p: 0.9, seed: 7 } },
    { name: 'top-k 0 (no limit) left to vLLM', sampling: { temperature: 1, topK: 0 }, expected: { temperature: 1 } },
    { name: 'stop strings', sampling: { stop: ['\n\n', 'END'] }, expected: { stop: ['\n\n', 'END'] } },
    { name: 'penalties', sampling: { presencePenalty: 0.5, frequencyPenalty: -0.25 }, expected: { presence_penalty: 0.5, frequency_penalty: -0.25 } },
    { name: 'logit bias keyed by token id', sampling: { logitBias: [[42, -100], [7, 2.5]] }, expected: { logit_bias: { '42': -100, '7': 2.5 } } },
    { name: 'any JSON object', sampling: { format: { type: 'json' } }, expected: { response_format: { type: 'json_object' } } },
    { name: 'JSON against a schema', sampling: { format: { type: 'json_schema', schema: { type: 'object' } } }, expected: { response_format: { type: 'json_schema', json_schema: { name: 'output', schema: { type: 'object' } } } } },
    { name: 'more alternatives than vLLM serves, bounded', sampling: {}, logprobs: 50, expected: { logprobs: 20 } },
  ];
  for (const { name, sampling, logprobs, expected } of cases) {
    it(name, () => {
      const body = completionBodyOf({ ...base, sampling: SamplingParams.parse(sampling), ...(logprobs !== undefined ? { logprobs } : {}) });
      assert.deepEqual(body, { model: 'qwen', prompt: [1, 2, 3], max_tokens: 16, stream: true, logprobs: 0, return_tokens_as_token_ids: true, temperature: 0, ...expected });
    });
  }
});

describe("vLLM's stream chunks, read", () => {
  it('gives each token id, its logprob and its alternatives best first (the chosen one first in the dict, as vLLM sends it)', () => {
    const data = JSON.stringify({ choices: [{ index: 0, text: ' cat', logprobs: { tokens: ['token_id:9'], token_logprobs: [-2.5], top_logprobs: [{ 'token_id:9': -2.5, 'token_id:4': -0.1, 'token_id:5': -1 }] }, finish_reason: null, stop_reason: null }] });
    assert.deepEqual(chunkOf(data), { text: ' cat', tokenIds: [9], logprobs: [-2.5], top: [[[4, -0.1], [5, -1], [9, -2.5]]], finishReason: null, stopReason: null });
  });

  it('throws the error event vLLM sends mid-stream, and refuses tokens named by text', () => {
    assert.throws(() => chunkOf(JSON.stringify({ error: { message: 'CUDA error', code: 500 } })), (error) => error instanceof VllmRequestError && /CUDA error/.test(error.message));
    assert.throws(() => tokenIdOf(' cat'), /not token_id:N/);
  });
});
