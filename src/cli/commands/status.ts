// `infernet status`: who this node is, how it is configured, and whether its daemon runs.
import { parseArgs } from 'node:util';
import { connectionPathOf } from '../../nat/index.js';
import { readLiveDaemonState } from '../../node/index.js';
import { PROTOCOL_VERSION, SUPPORTED_PROTOCOL_VERSIONS } from '../../protocol/index.js';
import { openNode } from '../open-node.js';

export const STATUS_USAGE = `infernet status --home DIR [--json]`;

export async function statusCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { home: { type: 'string' }, json: { type: 'boolean' } } });
  const { home, config, key } = await openNode(values.home);
  const daemon = await readLiveDaemonState(home.daemonStateFile);
  const status = {
    npub: key.npub,
    publicKey: key.publicKey,
    role: config.role,
    home: home.dir,
    listen: config.listen,
    connect: config.connect,
    discovery: { enabled: config.discovery.enabled, bootstrap: config.discovery.bootstrap },
    peerId: daemon?.peerId ?? null,
    multiaddrs: daemon?.multiaddrs ?? [],
    reachability: daemon?.nat?.reachability ?? null,
    relays: daemon?.nat?.relays ?? [],
    nat: daemon?.nat ?? null,
    models: config.models,
    protocol: { version: PROTOCOL_VERSION, supported: [...SUPPORTED_PROTOCOL_VERSIONS] },
    daemon: daemon
      ? { running: true, pid: daemon.pid, url: daemon.url, startedAt: daemon.startedAt, peers: daemon.peers.map((peer) => ({ ...peer, path: connectionPathOf(peer.remote) })), ...(daemon.api ? { api: `${daemon.api}/v1` } : {}) }
      : { running: false },
    engine: daemon?.engine ?? null,
    /** Why a provider runs no jobs, while it refuses them. */
    refusal: daemon?.refusal ?? null,
  };
  if (values.json) return console.log(JSON.stringify(status, null, 2));
  console.log(`node     ${status.npub} (${status.role})`);
  console.log(`home     ${status.home}`);
  if (status.multiaddrs.length) console.log(`p2p      ${status.multiaddrs.join(' ')}`);
  if (status.reachability) console.log(`reach    ${status.reachability}${status.relays.length ? ` via ${status.relays.map((relay) => relay.peerId).join(', ')}` : ''}`);
  console.log(`daemon   ${daemon ? `running, pid ${daemon.pid}, ${daemon.url ?? 'no listener'}, ${daemon.peers.length} peers` : 'not running'}`);
  if (config.models.length) console.log(`models   ${config.models.join(', ')}`);
  if (status.engine) {
    console.log(`engine   ${status.engine.sandbox} sandbox on ${status.engine.backend.device}`);
    for (const engine of status.engine.engines) {
      const offloaded = engine.backend && engine.backend !== 'cpu' && engine.gpuLayers !== undefined ? `, ${engine.gpuLayers} layers on the GPU` : '';
      console.log(`         ${engine.modelPath}: ${engine.state}${offloaded}, ${engine.loads} loads, ${engine.restarts} restarts${engine.lastError ? `, last error: ${engine.lastError.message}` : ''}`);
    }
  }
  if (status.refusal) console.log(`refuses  jobs: ${status.refusal}`);
  if (config.connect.length) console.log(`connect  ${config.connect.join(', ')}`);
  if (daemon?.api) console.log(`api      ${daemon.api}/v1`);
}
