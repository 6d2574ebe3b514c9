import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, validateNodeConfig } from './node-config.js';

describe("the provider's engine and vLLM settings in the node config", () => {
  it('keeps llama.cpp when no engine is named, with the vLLM defaults beside it', () => {
    const { provider } = validateNodeConfig({ provider: { sandbox: 'none' } }, 'test');
    assert.equal(provider.engine, 'llama.cpp');
    assert.deepEqual(provider.vllm, { command: ['vllm', 'serve'], gpuMemoryUtilization: 0.9, extraArgs: [], startTimeoutSeconds: 900, containerMemoryMb: 32768 });
  });

  it('takes vllm with its settings', () => {
    const { provider } = validateNodeConfig({ provider: { engine: 'vllm', vllm: { image: 'registry.local/vllm:pinned', gpuMemoryUtilization: 0.5, maxModelLength: 8192, extraArgs: ['--enforce-eager'] } } }, 'test');
    assert.equal(provider.engine, 'vllm');
    assert.equal(provider.vllm.image, 'registry.local/vllm:pinned');
    assert.equal(provider.vllm.maxModelLength, 8192);
  });

  const refused: { name: string; provider: unknown; path: RegExp }[] = [
    { name: 'an engine it does not know', provider: { engine: 'tgi' }, path: /provider\.engine/ },
    { name: 'a GPU share over 1', provider: { vllm: { gpuMemoryUtilization: 1.5 } }, path: /provider\.vllm\.gpuMemoryUtilization/ },
    { name: 'a GPU share of 0', provider: { vllm: { gpuMemoryUtilization: 0 } }, path: /provider\.vllm\.gpuMemoryUtilization/ },
    { name: 'an empty command', provider: { vllm: { command: [] } }, path: /provider\.vllm\.command/ },
    { name: 'a setting it does not know', provider: { vllm: { port: 8000 } }, path: /provider\.vllm/ },
    { name: 'a context shorter than 64 tokens', provider: { vllm: { maxModelLength: 8 } }, path: /provider\.vllm\.maxModelLength/ },
  ];
  for (const { name, provider, path } of refused) {
    it(`refuses ${name}, naming the field`, () => {
      assert.throws(() => validateNodeConfig({ provider }, 'config.yaml'), (error) => error instanceof ConfigError && path.test(error.message));
    });
  }
});
