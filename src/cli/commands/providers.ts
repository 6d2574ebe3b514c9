// `infernet providers`: the providers this node currently knows through discovery (from its running daemon).
import { parseArgs } from 'node:util';
import { npubOf } from '../../identity/index.js';
import { readLiveDaemonState } from '../../node/index.js';
import { CliError } from '../cli-error.js';
import { openNode } from '../open-node.js';

export const PROVIDERS_USAGE = `infernet providers --home DIR [--json]
  Lists the providers the running daemon knows through discovery, with models, load, latency and RPC stages.`;

export async function providersCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { home: { type: 'string' }, json: { type: 'boolean' } } });
  const { home, config } = await openNode(values.home);
  if (!config.discovery.enabled) throw new CliError(`discovery is off for ${home.dir}: init with --bootstrap MULTIADDR or --discovery`);
  const daemon = await readLiveDaemonState(home.daemonStateFile);
  if (!daemon) throw new CliError(`no daemon runs for ${home.dir}: start it with \`infernet start --home ${home.dir}\``);
  const providers = (daemon.providers ?? []).map((provider) => ({ ...provider, npub: npubOf(provider.pubkey) }));
  if (values.json) return console.log(JSON.stringify(providers, null, 2));
  if (!providers.length) return console.log('no providers known yet');
  for (const provider of providers) {
    console.log(`${provider.npub}  ${provider.endpoint}  ${provider.models.join(',')}  ${provider.activeJobs}/${provider.slots} busy${provider.latencyMs !== undefined ? `  ${provider.latencyMs.toFixed(1)} ms` : ''}${provider.stages ? `  stages at ${provider.stages.endpoint}` : ''}`);
  }
}
