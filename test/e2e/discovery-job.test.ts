// A provider found through the DHT, not configured: the aggregator learns of it from its signed record and
// routes a client's job to it. Three daemons as separate processes over loopback.
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sharedModelPath } from '../../src/models/shared-test-models.js';
import { eventually, runCli, startDaemon, type RunningDaemon } from '../support/cli.js';

const model = sharedModelPath('stories260K.gguf');

describe('a job on a provider found through discovery', () => {
  let dir: string;
  let aggregator: RunningDaemon;
  let provider: RunningDaemon;
  const home = (name: string) => join(dir, name);
  const json = async (args: string[]) => {
    const result = await runCli(args);
    assert.equal(result.code, 0, result.stderr);
    return JSON.parse(result.stdout);
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'infernet-discovery-'));
    await runCli(['init', '--home', home('aggregator'), '--role', 'aggregator', '--port', '0', '--discovery']);
    aggregator = await startDaemon(home('aggregator'));
    const [bootstrap] = (await json(['status', '--home', home('aggregator'), '--json'])).multiaddrs as string[];
    assert.match(bootstrap ?? '', /^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\/\w+$/);
    await runCli(['init', '--home', home('provider'), '--role', 'provider', '--port', '0', '--model', model, '--sandbox', 'none', '--bootstrap', bootstrap!]);
    provider = await startDaemon(home('provider'));
  });
  after(async () => {
    await provider?.stop();
    await aggregator?.stop();
  });

  it('completes a client job on that provider, whose address nobody configured', async () => {
    await runCli(['init', '--home', home('client'), '--role', 'client', '--connect', aggregator.url]);
    const submitted = await runCli(['submit', '--home', home('client'), '--model', 'stories260K', '--prompt', 'Once upon a time', '--max-tokens', '24', '--json']);
    assert.equal(submitted.code, 0, `${submitted.stderr}\naggregator log:\n${aggregator.log().slice(-3000)}`);
    const job = JSON.parse(submitted.stdout);
    assert.equal(job.status, 'completed');
    assert.equal(job.provider, provider.npub);
    assert.equal(job.tokens, 24);
  });

  it('shows the provider, with its model and job endpoint, in the aggregator\'s provider list', async () => {
    await eventually(async () => (await json(['providers', '--home', home('aggregator'), '--json'])).length > 0, 30_000, 'the provider record to reach the aggregator');
    const [known] = await json(['providers', '--home', home('aggregator'), '--json']);
    assert.equal(known.npub, provider.npub);
    assert.equal(known.endpoint, provider.url);
    assert.deepEqual(known.models, ['stories260K']);
    // The accelerator its jobs run on, from its signed record (a CPU-only machine: llama.cpp on the CPU).
    assert.deepEqual([known.backend, known.device], ['cpu', 'cpu']);
  });

  it('reports the provider\'s own multiaddrs and peer id in status', async () => {
    const status = await json(['status', '--home', home('provider'), '--json']);
    assert.equal(status.discovery.enabled, true);
    assert.ok(status.multiaddrs.length > 0);
    assert.ok(status.multiaddrs.every((address: string) => address.endsWith(`/p2p/${status.peerId}`)));
  });
});
