// A provider whose engine is llama.cpp's own server (provider.engine: llama-server), end to end through the
// `infernet` command: a client, an aggregator and the provider, each its own process; the provider's server in its
// Docker sandbox (the default) with 4 slots, so concurrent jobs are decoded together.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import YAML from 'yaml';
import { LlamaServerEngine } from '../../src/distributed/index.js';
import { sharedModelPath } from '../../src/models/shared-test-models.js';
import { SamplingParams } from '../../src/protocol/index.js';
import { eventually, runCli, startDaemon, type RunningDaemon } from '../support/cli.js';

const model = sharedModelPath('stories260K.gguf');
const prompts = ['Once upon a time', 'The little dog', 'She saw a bird', 'In the garden there was'];
const MAX_TOKENS = 24;

describe('jobs on a provider whose engine is llama-server in the Docker sandbox (client -> aggregator -> provider, real processes)', () => {
  let dir: string;
  let provider: RunningDaemon;
  let aggregator: RunningDaemon;
  const home = (name: string) => join(dir, name);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'infernet-llama-server-e2e-'));
    assert.equal((await runCli(['init', '--home', home('provider'), '--role', 'provider', '--port', '0', '--model', model])).code, 0);
    const file = join(home('provider'), 'config.yaml');
    const config = YAML.parse(await readFile(file, 'utf8')) as { provider: Record<string, unknown> };
    Object.assign(config.provider, { engine: 'llama-server', slots: 4, threads: 1, batchThreads: 2, contextSize: 256 });
    await writeFile(file, YAML.stringify(config));
    provider = await startDaemon(home('provider'));
    assert.equal((await runCli(['init', '--home', home('aggregator'), '--role', 'aggregator', '--port', '0', '--connect', provider.url])).code, 0);
    aggregator = await startDaemon(home('aggregator'));
    assert.equal((await runCli(['init', '--home', home('client'), '--role', 'client', '--connect', aggregator.url])).code, 0);
    await eventually(async () => JSON.parse((await runCli(['status', '--home', home('aggregator'), '--json'])).stdout).daemon.peers.length > 0, 15_000, 'the aggregator to reach its provider');
  });

  after(async () => {
    await aggregator?.stop();
    await provider?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('completes 4 concurrent jobs, each with the text of a direct run of the same build, recorded as run in Docker', async () => {
    const submits = await Promise.all(prompts.map((prompt) => runCli(['submit', '--home', home('client'), '--model', model, '--prompt', prompt, '--max-tokens', String(MAX_TOKENS), '--json'])));
    const direct = new LlamaServerEngine({ threads: 1, contextSize: 256 });
    try {
      for (const [index, submit] of submits.entries()) {
        assert.equal(submit.code, 0, submit.stderr);
        const job = JSON.parse(submit.stdout) as Record<string, unknown>;
        assert.equal(job.status, 'completed');
        assert.equal(job.provider, provider.npub);
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
  });
});
