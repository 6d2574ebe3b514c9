// A provider whose engine is vLLM (provider.engine: vllm), end to end through the `infernet` command: a client, an
// aggregator and the provider, each its own process. vLLM cannot run here (no GPU, no image), so the provider's
// `vllm serve` is the stand-in vLLM server (src/inference/vllm-stand-in.ts), started and supervised by the provider
// as it would start vLLM; the test's name says so.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sharedModelPath } from '../../src/models/shared-test-models.js';
import { SamplingParams } from '../../src/protocol/index.js';
import { STAND_IN_COMMAND, standInEngine } from '../../src/inference/vllm/vllm-test-support.js';
import { runCli } from '../support/cli.js';
import { startProviderNetwork, type ProviderNetwork } from '../support/provider-network.js';

// The provider's catalog needs a model file; the stand-in answers for it without reading it.
const model = sharedModelPath('stories260K.gguf');

describe('a job on a provider whose engine is a stand-in vLLM server (client -> aggregator -> provider, real processes)', () => {
  let network: ProviderNetwork;
  const home = (name: string) => network.home(name);

  before(async () => {
    network = await startProviderNetwork({ model, providerInit: ['--sandbox', 'none'], provider: { engine: 'vllm', vllm: { command: [...STAND_IN_COMMAND] } } });
  });
  after(async () => {
    await network?.stop();
  });

  it('completes the job with the text a direct run on the same server gives, recorded under the version the server reports', async () => {
    const result = await runCli(['submit', '--home', home('client'), '--model', model, '--prompt', 'Once upon a time', '--max-tokens', '24', '--json']);
    assert.equal(result.code, 0, result.stderr);
    const job = JSON.parse(result.stdout) as Record<string, unknown>;
    assert.equal(job.status, 'completed');
    assert.equal(job.provider, network.provider.npub);
    assert.equal(job.tokens, 24);
    assert.equal(job.engine, 'vllm@0.0.0-stand-in', "the version the server's GET /version answers");
    const engine = standInEngine();
    try {
      const direct = await engine.generate({ modelPath: model, input: { prompt: 'Once upon a time' }, sampling: SamplingParams.parse({ maxTokens: 24 }) });
      assert.equal(job.output, direct.text);
    } finally {
      await engine.close();
    }
  });

  it("shows the vLLM server in the provider's status: ready, on this machine's CPU, no sandbox", async () => {
    const status = JSON.parse((await runCli(['status', '--home', home('provider'), '--json'])).stdout);
    assert.equal(status.engine.sandbox, 'none');
    assert.equal(status.engine.backend.gpu, 'cpu');
    assert.equal(status.engine.engines[0].state, 'ready');
    assert.equal(status.engine.engines[0].restarts, 0);
  });
});
