// The network the API tests run against: a provider serving stories260K (sandbox none), an aggregator connected
// to it and a client node with the HTTP API on a free port and one API key, each an `infernet start` process.
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sharedModelPath } from '../../src/models/shared-test-models.js';
import { runCli, startDaemon, type RunningDaemon } from '../support/cli.js';

export const API_TEST_MODEL = 'stories260K';

/** The kinds of event, in order, of a streamed Responses answer in text cut at max_output_tokens. */
export const INCOMPLETE_TEXT_EVENTS = [
  'response.created',
  'response.in_progress',
  'response.output_item.added',
  'response.content_part.added',
  'response.output_text.delta',
  'response.output_text.done',
  'response.content_part.done',
  'response.output_item.done',
  'response.incomplete',
];

export interface ApiNetwork {
  provider: RunningDaemon;
  aggregator: RunningDaemon;
  client: RunningDaemon;
  /** The client node's API, without /v1. */
  api: string;
  apiKey: string;
  /** The home directory of `provider`, `aggregator` or `client`. */
  home: (node: string) => string;
  stop: () => Promise<void>;
}

/** `providerPort`: a fixed port, for a test that stops the provider and starts it again where its aggregator dials it. */
export async function startApiNetwork(options: { providerPort?: number } = {}): Promise<ApiNetwork> {
  const dir = await mkdtemp(join(tmpdir(), 'infernet-api-'));
  const home = (name: string) => join(dir, name);
  const started: RunningDaemon[] = [];
  const stop = async () => {
    for (const daemon of started.reverse()) await daemon.stop();
  };
  try {
    await runCli(['init', '--home', home('provider'), '--role', 'provider', '--port', String(options.providerPort ?? 0), '--sandbox', 'none', '--model', sharedModelPath('stories260K.gguf')]);
    const provider = await startDaemon(home('provider'));
    started.push(provider);
    await runCli(['init', '--home', home('aggregator'), '--role', 'aggregator', '--port', '0', '--connect', provider.url]);
    const aggregator = await startDaemon(home('aggregator'));
    started.push(aggregator);
    assert.equal((await runCli(['init', '--home', home('client'), '--role', 'client', '--connect', aggregator.url, '--api-port', '0'])).code, 0);
    const created = await runCli(['apikey', 'create', '--home', home('client'), '--label', 'tests']);
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /^inf_[A-Za-z0-9_-]{43}\n$/, 'the key alone on stdout');
    const client = await startDaemon(home('client'), { until: 'api' });
    started.push(client);
    return { provider, aggregator, client, api: client.api!, apiKey: created.stdout.trim(), home, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
