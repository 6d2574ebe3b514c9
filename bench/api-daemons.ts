// The daemons the API benchmarks run against, each an `infernet start` process: providers (sandbox none) serving a
// model, an aggregator connected to them, and a client node with the HTTP API and a key; all stopped by `stop`.
import { join } from 'node:path';
import OpenAI from 'openai';
import { eventually, runCli, startDaemon, type RunningDaemon } from '../test/support/cli.js';

export interface ApiDaemons {
  openai: OpenAI;
  aggregatorUrl: string;
  stop: () => Promise<unknown>;
}

/** One provider per path of `providerModels`, in homes under `dir`; resolves once the aggregator has them all and the client. */
export async function startApiDaemons(dir: string, providerModels: readonly string[]): Promise<ApiDaemons> {
  const home = (name: string) => join(dir, name);
  const started: RunningDaemon[] = [];
  const start = async (name: string, options?: { until: 'api' }) => {
    const daemon = await startDaemon(home(name), options);
    started.push(daemon);
    return daemon;
  };
  const stop = () => Promise.all(started.map((daemon) => daemon.stop()));
  try {
    const providers: RunningDaemon[] = [];
    for (const [index, model] of providerModels.entries()) {
      await runCli(['init', '--home', home(`provider-${index}`), '--role', 'provider', '--port', '0', '--model', model, '--sandbox', 'none']);
      providers.push(await start(`provider-${index}`));
    }
    await runCli(['init', '--home', home('aggregator'), '--role', 'aggregator', '--port', '0', ...providers.flatMap((provider) => ['--connect', provider.url])]);
    const aggregator = await start('aggregator');
    await runCli(['init', '--home', home('client'), '--role', 'client', '--connect', aggregator.url, '--api-port', '0']);
    const apiKey = (await runCli(['apikey', 'create', '--home', home('client')])).stdout.trim();
    const client = await start('client', { until: 'api' });
    const peers = async () => JSON.parse((await runCli(['status', '--home', home('aggregator'), '--json'])).stdout).daemon.peers.length as number;
    await eventually(async () => (await peers()) >= providers.length + 1, 30_000, 'the providers and the client to join');
    return { openai: new OpenAI({ apiKey, baseURL: `${client.api}/v1`, maxRetries: 0 }), aggregatorUrl: aggregator.url, stop };
  } catch (error) {
    await stop(); // no daemon outlives a failed start
    throw error;
  }
}
