// The foundation's promise, end to end: a client, an aggregator and a provider, each its own process,
// complete a real generation over real sockets through the `infernet` command.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LlamaCppEngine } from '../../src/inference/index.js';
import { sharedModelPath } from '../../src/models/shared-test-models.js';
import { SamplingParams } from '../../src/protocol/index.js';
import { eventually, runCli, startDaemon, type RunningDaemon } from '../support/cli.js';

const model = sharedModelPath('stories260K.gguf');

describe('a job through three processes: client -> aggregator -> provider', () => {
  let dir: string;
  let provider: RunningDaemon;
  let aggregator: RunningDaemon;
  const home = (name: string) => join(dir, name);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'infernet-e2e-'));
    assert.equal((await runCli(['init', '--home', home('provider'), '--role', 'provider', '--port', '0', '--model', model])).code, 0);
    provider = await startDaemon(home('provider'));
    assert.equal((await runCli(['init', '--home', home('aggregator'), '--role', 'aggregator', '--port', '0', '--connect', provider.url])).code, 0);
    aggregator = await startDaemon(home('aggregator'));
    const init = await runCli(['init', '--home', home('client'), '--role', 'client', '--connect', aggregator.url]);
    assert.equal(init.code, 0);
    assert.match(init.stdout.trim(), /^npub1[0-9a-z]{58}$/);
    await eventually(async () => JSON.parse((await runCli(['status', '--home', home('aggregator'), '--json'])).stdout).daemon.peers.length > 0, 15_000, 'the aggregator to reach its provider');
  });

  after(async () => {
    await aggregator?.stop();
    await provider?.stop();
  });

  /** What `infernet submit` printed in the streaming test, which the records test compares with the client's record. */
  let streamedText = '';

  it('completes a real generation and reports it as JSON with the provider npub', async () => {
    const result = await runCli(['submit', '--home', home('client'), '--model', model, '--prompt', 'Once upon a time', '--max-tokens', '48', '--seed', '42', '--json']);
    assert.equal(result.code, 0, result.stderr);
    const job = JSON.parse(result.stdout) as Record<string, unknown>;
    assert.equal(job.status, 'completed');
    assert.equal(job.provider, provider.npub);
    assert.equal(job.tokens, 48);
    assert.match(String(job.jobId), /^[0-9a-f-]{36}$/);
    assert.match(String(job.output), /there was a little girl named Lily/);
    assert.match(String(job.engine), /\+docker$/, 'the provider ran the job in its Docker sandbox');
  });

  it('streams exactly the text that an in-process llama.cpp run produces for the same request', async () => {
    const engine = new LlamaCppEngine({ threads: 1, contextSize: 2048, slots: 1 });
    const direct = await engine.generate({ modelPath: model, input: { prompt: 'The little dog' }, sampling: SamplingParams.parse({ maxTokens: 64 }) });
    await engine.close();
    const streamed = await runCli(['submit', '--home', home('client'), '--model', 'stories260K', '--prompt', 'The little dog', '--max-tokens', '64']);
    assert.equal(streamed.code, 0, streamed.stderr);
    assert.equal(streamed.stdout, direct.text + (direct.text.endsWith('\n') ? '' : '\n'));
    streamedText = streamed.stdout;
  });

  it('records the job on every node, completed, with the same id', async () => {
    const clientJobs = JSON.parse((await runCli(['jobs', '--home', home('client'), '--json'])).stdout) as Array<Record<string, unknown>>;
    const latest = clientJobs[0]!;
    assert.equal(latest.state, 'completed');
    assert.equal(latest.providerNpub, provider.npub);
    // The client keeps the text with the token ids it came as: what a continuation elsewhere would start from.
    assert.equal((latest.tokenIds as number[]).length, 64);
    assert.ok((latest.tokenIds as number[]).every((id) => Number.isInteger(id) && id >= 0));
    const output = String(latest.output);
    assert.equal(output + (output.endsWith('\n') ? '' : '\n'), streamedText, 'the text `infernet submit` printed');
    const records: Record<string, Record<string, unknown> | undefined> = {};
    for (const node of ['aggregator', 'provider']) {
      const jobs = JSON.parse((await runCli(['jobs', '--home', home(node), '--json'])).stdout) as Array<Record<string, unknown>>;
      const same = (records[node] = jobs.find((job) => job.jobId === latest.jobId));
      assert.equal(same?.state, 'completed', `${node} record of the job`);
      assert.equal(same?.tokens, 64);
    }
    // The provider keeps the id of the signed spec it accepted; the other roles have none.
    assert.match(String(records.provider?.specId), /^[0-9a-f]{64}$/);
    assert.equal(records.aggregator?.specId, undefined);
    assert.equal(latest.specId, undefined);
  });

  it('shows the running daemon and its peers in status', async () => {
    const status = JSON.parse((await runCli(['status', '--home', home('provider'), '--json'])).stdout);
    assert.equal(status.role, 'provider');
    assert.equal(status.npub, provider.npub);
    assert.equal(status.daemon.running, true);
    assert.equal(status.daemon.url, provider.url);
    assert.ok(status.daemon.peers.some((peer: { role: string }) => peer.role === 'aggregator'));
    // The model's warm engine, loaded once (at start-up) for every job since, on this machine's CPU.
    assert.equal(status.engine.sandbox, 'docker');
    assert.equal(status.engine.backend.device, 'cpu');
    assert.equal(status.engine.engines.length, 1);
    assert.equal(status.engine.engines[0].state, 'ready');
    assert.equal(status.engine.engines[0].loads, 1);
    assert.equal(status.engine.engines[0].backend, 'cpu');
  });

  it('fails with one line on stderr when no provider serves the model', async () => {
    const result = await runCli(['submit', '--home', home('client'), '--model', 'no-such-model', '--prompt', 'x']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /no_provider/);
    assert.equal(result.stderr.trim().split('\n').length, 1);
  });

  it('fails clearly when the aggregator cannot be reached', async () => {
    await runCli(['init', '--home', home('lost'), '--role', 'client', '--connect', 'ws://127.0.0.1:9']);
    const result = await runCli(['submit', '--home', home('lost'), '--model', 'stories260K', '--prompt', 'x']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /no aggregator reachable: cannot reach ws:\/\/127\.0\.0\.1:9/);
  });

  it('names the field of a bad config file', async () => {
    await runCli(['init', '--home', home('bad'), '--role', 'client']);
    await writeFile(join(home('bad'), 'config.yaml'), 'role: client\nlimits:\n  maxFrameBytes: 5\n');
    const result = await runCli(['status', '--home', home('bad')]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /limits\.maxFrameBytes/);
  });

  it('refuses an unknown role at init and writes nothing', async () => {
    const result = await runCli(['init', '--home', home('typo'), '--role', 'miner']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /role/);
    assert.equal(existsSync(join(home('typo'), 'node.key')), false);
  });

  it('shuts a daemon down cleanly on SIGTERM and removes its state file', async () => {
    await runCli(['init', '--home', home('short'), '--role', 'aggregator', '--port', '0']);
    const daemon = await startDaemon(home('short'));
    assert.equal(await daemon.stop('SIGTERM'), 0);
    assert.equal(existsSync(join(home('short'), 'daemon.json')), false);
    assert.match(daemon.log(), /"msg":"node stopped"/);
  });
});
