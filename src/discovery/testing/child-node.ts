// Test-only: one discovery node in its own process, driven over stdin/stdout in JSON lines, so a test can kill it
// outright or run it inside a network namespace (`ip netns exec NS node child-node.js CONFIG`).
//   in:  {"cmd":"announce","params":AnnounceParameters} | {"cmd":"find","params":FindProvidersParameters}
//        | {"cmd":"status"} | {"cmd":"stop"}
//   out: {"type":"ready","peerId","multiaddrs"} then one {"type":"result","cmd",...} per command
import { createInterface } from 'node:readline';
import { generateNodeKey } from '../../identity/index.js';
import { createLogger } from '../../log/index.js';
import { DiscoveryService, type AnnounceParameters, type DiscoveryTimings, type FindProvidersParameters } from '../discovery-service.js';

export interface ChildNodeConfig {
  listen: string[];
  bootstrap: string[];
  allow?: string[];
  timings?: Partial<DiscoveryTimings>;
}

export type ChildCommand =
  | { cmd: 'announce'; params: AnnounceParameters }
  | { cmd: 'find'; params: FindProvidersParameters }
  | { cmd: 'status' }
  | { cmd: 'stop' };

const config = JSON.parse(process.argv[2] ?? '{}') as ChildNodeConfig;
const write = (message: object): void => void process.stdout.write(JSON.stringify(message) + '\n');

const service = new DiscoveryService({
  key: generateNodeKey(),
  logger: createLogger({ level: 'warn', fd: 2 }),
  listen: config.listen,
  bootstrap: config.bootstrap,
  ...(config.allow ? { allow: config.allow } : {}),
  ...(config.timings ? { timings: config.timings } : {}),
});
await service.start();
write({ type: 'ready', peerId: service.peerId, multiaddrs: service.multiaddrs() });

const status = () => ({
  peerId: service.peerId,
  multiaddrs: service.multiaddrs(),
  connections: service.libp2p.getConnections().map((connection) => connection.remoteAddr.toString()),
  known: service.knownProviders().map((provider) => provider.peerId),
});

for await (const line of createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  const command = JSON.parse(line) as ChildCommand;
  try {
    if (command.cmd === 'announce') write({ type: 'result', cmd: command.cmd, record: await service.announce(command.params) });
    else if (command.cmd === 'find') write({ type: 'result', cmd: command.cmd, providers: await service.findProviders(command.params) });
    else if (command.cmd === 'status') write({ type: 'result', cmd: command.cmd, ...status() });
    else break;
  } catch (error) {
    write({ type: 'result', cmd: command.cmd, error: `${(error as Error).name}: ${(error as Error).message}` });
  }
}
await service.stop();
write({ type: 'result', cmd: 'stop' });
process.exit(0);
