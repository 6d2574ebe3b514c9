// A job whose model is named by content id reaches a provider that does not have the model: the aggregator
// matches it there only because no holder of the model is connected, the provider fetches the model from its
// holder through the DHT before accepting, reports that in the job's progress, and generates exactly what a
// local run of the same model gives.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import YAML from 'yaml';
import { sha256OfFile } from '../../src/content/content-store.js';
import { LlamaCppEngine } from '../../src/inference/index.js';
import { sharedModelPath } from '../../src/models/shared-test-models.js';
import { SamplingParams } from '../../src/protocol/index.js';
import { eventually, runCli, startDaemon, type RunningDaemon } from '../support/cli.js';

const model = sharedModelPath('stories260K.gguf');

describe('a job whose model is named by content id', () => {
  let dir: string;
  let aggregator: RunningDaemon;
  let provider: RunningDaemon;
  let cid: string;
  const home = (name: string) => join(dir, name);
  const json = async (args: string[]) => {
    const result = await runCli(args);
    assert.equal(result.code, 0, result.stderr);
    return JSON.parse(result.stdout);
  };
  /** Discovery on loopback admits every dial from 127.0.0.1 (else the per-host inbound rate limit may refuse one). */
  const allowLoopback = async (name: string) => {
    const path = join(home(name), 'config.yaml');
    const config = YAML.parse(await readFile(path, 'utf8')) as { discovery: { allow?: string[] } };
    config.discovery.allow = ['/ip4/127.0.0.1'];
    await writeFile(path, YAML.stringify(config));
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'infernet-model-by-cid-'));
    // The aggregator holds the model's bytes as content but serves no model: it has no provider role.
    await json(['init', '--home', home('aggregator'), '--role', 'aggregator', '--port', '0', '--discovery', '--json']);
    await allowLoopback('aggregator');
    cid = (await json(['content', 'add', model, '--in-place', '--home', home('aggregator'), '--json'])).cid;
    aggregator = await startDaemon(home('aggregator'));
    const [bootstrap] = (await json(['status', '--home', home('aggregator'), '--json'])).multiaddrs as string[];
    // The provider starts with no model at all.
    await json(['init', '--home', home('provider'), '--role', 'provider', '--port', '0', '--sandbox', 'none', '--bootstrap', bootstrap!, '--connect', aggregator.url, '--json']);
    await allowLoopback('provider');
    provider = await startDaemon(home('provider'));
    await eventually(async () => (await json(['status', '--home', home('aggregator'), '--json'])).daemon.peers.length > 0, 30_000, 'the aggregator to reach its provider');
  });

  after(async () => {
    await provider?.stop();
    await aggregator?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('is refused without the content id: no connected provider holds the model', async () => {
    const result = await runCli(['submit', '--home', home('aggregator'), '--model', 'stories260K', '--prompt', 'Once upon a time', '--max-tokens', '8', '--json']);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /no_provider/);
  });

  it('runs on the provider after it fetched the model from its holder, with the text of a local run', async () => {
    const result = await runCli(['submit', '--home', home('aggregator'), '--model', 'stories260K', '--model-cid', cid, '--prompt', 'Once upon a time', '--max-tokens', '24', '--json'], { timeoutMs: 180_000 });
    assert.equal(result.code, 0, result.stderr);
    const submitted = JSON.parse(result.stdout);
    assert.equal(submitted.status, 'completed');
    assert.equal(submitted.provider, provider.npub);

    const engine = new LlamaCppEngine({ threads: 1, contextSize: 2048, slots: 1 });
    const direct = await engine.generate({ modelPath: model, input: { prompt: 'Once upon a time' }, sampling: SamplingParams.parse({ maxTokens: 24 }) });
    await engine.close();
    assert.equal(submitted.output, direct.text);

    // The provider now holds the model's bytes, identical to the original.
    const held = (await json(['content', 'ls', '--home', home('provider'), '--json'])) as Array<{ cid: string; path?: string }>;
    const entry = held.find((item) => item.cid === cid);
    assert.ok(entry, `the provider lists ${cid}: ${JSON.stringify(held)}`);
    if (entry.path) assert.equal(await sha256OfFile(entry.path), await sha256OfFile(model));
  });

  it('says in the invalid-id error what a content id looks like', async () => {
    const result = await runCli(['submit', '--home', home('aggregator'), '--model', 'stories260K', '--model-cid', 'not-a-cid', '--prompt', 'x']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /--model-cid must be a content id/);
  });
});
