// A provider whose engine is llama.cpp's own server (provider.engine: llama-server), end to end through the
// `infernet` command: a client, an aggregator and the provider, each its own process; the provider's server in its
// Docker sandbox (the default) with 4 slots, so concurrent jobs are decoded together.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LlamaServerEngine } from '../../src/distributed/index.js';
import { sharedModelPath } from '../../src/models/shared-test-models.js';
import { SamplingParams } from '../../src/protocol/index.js';
import { runCli } from '../support/cli.js';
import { startProviderNetwork, type ProviderNetwork } from '../support/provider-network.js';

const model = sharedModelPath('stories260K.gguf');
const prompts = ['Once upon a time', 'The little dog', 'She saw a bird', 'In the garden there was'];
const MAX_TOKENS = 24;

describe('jobs on a provider whose engine is llama-server in the Docker sandbox (client -> aggregator -> provider, real processes)', () => {
  let network: ProviderNetwork;
  const home = (name: string) => network.home(name);

  before(async () => {
    network = await startProviderNetwork({ model, provider: { engine: 'llama-server', slots: 4, threads: 1, batchThreads: 2, contextSize: 256 } });
  });
  after(async () => {
    await network?.stop();
  });

  it('completes 4 concurrent jobs, each with the text of a direct run of the same build, recorded as run in Docker', async () => {
    const submits = await Promise.all(prompts.map((prompt) => runCli(['submit', '--home', home('client'), '--model', model, '--prompt', prompt, '--max-tokens', String(MAX_TOKENS), '--json'])));
    const direct = new LlamaServerEngine({ threads: 1, contextSize: 256 });
    try {
      for (const [index, submit] of submits.entries()) {
        assert.equal(submit.code, 0, submit.stderr);
        const job = JSON.parse(submit.stdout) as Record<string, unknown>;
        assert.equal(job.status, 'completed');
        assert.equal(job.provider, network.provider.npub);
        assert.match(String(job.engine), /^llama\.cpp\/llama-server@\w+\+docker$/);
        const alone = await direct.generate({ modelPath: model, input: { prompt: prompts[index]! }, sampling: SamplingParams.parse({ maxTokens: MAX_TOKENS }) });
        assert.equal(job.output, alone.text);
      }
    } finally {
      await direct.close();
    }
  });

  it("shows the engine's sandbox and backend in the provider's status", async () => {
    const status = JSON.parse((await runCli(['status', '--home', home('provider'), '--json'])).stdout);
    assert.equal(status.engine.sandbox, 'docker');
    assert.equal(status.engine.backend.gpu, 'cpu');
    assert.deepEqual([status.engine.engines[0].modelPath, status.engine.engines[0].state, status.engine.engines[0].restarts], [model, 'ready', 0]);
  });
});
