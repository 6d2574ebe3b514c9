// A client, an aggregator and one provider, each its own `infernet` process, for tests of a provider's engine end to
// end: the provider's config.yaml is edited between `init` and `start`.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import YAML from 'yaml';
import { eventually, runCli, startDaemon, type RunningDaemon } from './cli.js';

export interface ProviderNetwork {
  provider: RunningDaemon;
  aggregator: RunningDaemon;
  /** A node's home: 'provider', 'aggregator' or 'client'. */
  home(name: string): string;
  /** Stops both daemons and removes the homes. */
  stop(): Promise<void>;
}

/** `providerInit` are `infernet init`'s extra arguments for the provider; `provider` is merged into its `provider:` section. */
export async function startProviderNetwork(options: { model: string; providerInit?: string[]; provider: Record<string, unknown> }): Promise<ProviderNetwork> {
  const dir = await mkdtemp(join(tmpdir(), 'infernet-provider-network-'));
  const home = (name: string) => join(dir, name);
  const daemons: RunningDaemon[] = [];
  const stop = async () => {
    for (const daemon of daemons.reverse()) await daemon.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    assert.equal((await runCli(['init', '--home', home('provider'), '--role', 'provider', '--port', '0', '--model', options.model, ...(options.providerInit ?? [])])).code, 0);
    const file = join(home('provider'), 'config.yaml');
    const config = YAML.parse(await readFile(file, 'utf8')) as { provider: Record<string, unknown> };
    Object.assign(config.provider, options.provider);
    await writeFile(file, YAML.stringify(config));
    const provider = await startDaemon(home('provider'));
    daemons.push(provider);
    assert.equal((await runCli(['init', '--home', home('aggregator'), '--role', 'aggregator', '--port', '0', '--connect', provider.url])).code, 0);
    const aggregator = await startDaemon(home('aggregator'));
    daemons.push(aggregator);
    assert.equal((await runCli(['init', '--home', home('client'), '--role', 'client', '--connect', aggregator.url])).code, 0);
    await eventually(async () => JSON.parse((await runCli(['status', '--home', home('aggregator'), '--json'])).stdout).daemon.peers.length > 0, 15_000, 'the aggregator to reach its provider');
    return { provider, aggregator, home, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
