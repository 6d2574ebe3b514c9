// Test and benchmark fixture: a "public internet" (a bridge in its own namespace, on an address range libp2p
// treats as public) with public hosts on it, and private networks each behind a gateway namespace that
// masquerades outgoing traffic and drops every unsolicited inbound packet. Nothing is port-forwarded. Needs root
// and iproute2/iptables; everything lives in namespaces named after this process and is removed by remove(),
// also when the process exits.
import { execFileSync } from 'node:child_process';
import { InfernetError } from '../../errors/index.js';

/** Public hosts get 11.200.0.10+i, gateways 11.200.0.2+i: an isolated range libp2p counts as public. */
const PUBLIC_SUBNET = '11.200.0';

export interface TopologyHost {
  namespace: string;
  address: string;
}

export interface NatTopology {
  publicHosts: TopologyHost[];
  /** One host behind each NAT gateway. */
  privateHosts: TopologyHost[];
  /** Each gateway's public address, as peers on the public network see the hosts behind it. */
  gatewayAddresses: string[];
  /** Each gateway's namespace, where a test adds firewall rules (dropping UDP, say). */
  gatewayNamespaces: string[];
  exec(host: TopologyHost): string[];
  remove(): void;
}

export class NamespacesUnavailableError extends InfernetError {
  override readonly name = 'NamespacesUnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('internal', message, options);
  }
}

/** Throws a clear error where this process may not build namespaces (CI runs as root: nothing is skipped). */
export function assertCanBuildNamespaces(): void {
  if (process.getuid?.() !== 0) throw new NamespacesUnavailableError('NAT tests need root to create network namespaces and iptables rules (run as root, as CI does)');
  for (const [tool, args] of [['ip', ['netns', 'list']], ['iptables', ['--version']]] as const) {
    try {
      execFileSync(tool, args, { stdio: 'ignore' });
    } catch (cause) {
      throw new NamespacesUnavailableError(`NAT tests need \`${tool}\` (iproute2 and iptables): ${(cause as Error).message}`);
    }
  }
}

export function createNatTopology({ publicHosts, privateNetworks }: { publicHosts: number; privateNetworks: number }): NatTopology {
  const prefix = `infn${process.pid}`;
  const hub = `${prefix}w`;
  const namespaces = [hub];
  const remove = (): void => {
    for (const namespace of namespaces) {
      try {
        execFileSync('ip', ['netns', 'del', namespace], { stdio: 'ignore' });
      } catch {
        // Already gone.
      }
    }
  };
  const topology: NatTopology = { publicHosts: [], privateHosts: [], gatewayAddresses: [], gatewayNamespaces: [], exec: (host) => ['ip', 'netns', 'exec', host.namespace], remove };
  process.once('exit', remove);
  try {
    ip('netns', 'add', hub);
    ip('-n', hub, 'link', 'add', 'br0', 'type', 'bridge');
    ip('-n', hub, 'link', 'set', 'br0', 'up');
    let port = 0;
    /** A namespace with one leg on the public bridge. */
    const attach = (namespace: string, address: string, device: string): void => {
      const hubEnd = `p${port++}`;
      ip('-n', hub, 'link', 'add', hubEnd, 'type', 'veth', 'peer', 'name', device, 'netns', namespace);
      ip('-n', hub, 'link', 'set', hubEnd, 'master', 'br0', 'up');
      ip('-n', namespace, 'addr', 'add', `${address}/24`, 'dev', device);
      ip('-n', namespace, 'link', 'set', device, 'up');
    };
    const namespace = (name: string): string => {
      namespaces.push(name);
      ip('netns', 'add', name);
      ip('-n', name, 'link', 'set', 'lo', 'up');
      return name;
    };
    for (let i = 0; i < publicHosts; i++) {
      const host = { namespace: namespace(`${prefix}p${i}`), address: `${PUBLIC_SUBNET}.${10 + i}` };
      attach(host.namespace, host.address, 'eth0');
      topology.publicHosts.push(host);
    }
    for (let i = 0; i < privateNetworks; i++) {
      const gateway = namespace(`${prefix}g${i}`);
      const wan = `${PUBLIC_SUBNET}.${2 + i}`;
      attach(gateway, wan, 'wan');
      const host = { namespace: namespace(`${prefix}h${i}`), address: `10.${81 + i}.0.2` };
      ip('-n', gateway, 'link', 'add', 'lan', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', host.namespace);
      ip('-n', gateway, 'addr', 'add', `10.${81 + i}.0.1/24`, 'dev', 'lan');
      ip('-n', gateway, 'link', 'set', 'lan', 'up');
      ip('-n', host.namespace, 'addr', 'add', `${host.address}/24`, 'dev', 'eth0');
      ip('-n', host.namespace, 'link', 'set', 'eth0', 'up');
      ip('-n', host.namespace, 'route', 'add', 'default', 'via', `10.${81 + i}.0.1`);
      inside(gateway, 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
      inside(gateway, 'iptables', '-t', 'nat', '-A', 'POSTROUTING', '-o', 'wan', '-j', 'MASQUERADE');
      // A NAT, not a router: replies to what the inside started pass, nothing unsolicited does.
      inside(gateway, 'iptables', '-A', 'FORWARD', '-i', 'wan', '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT');
      inside(gateway, 'iptables', '-A', 'FORWARD', '-i', 'wan', '-j', 'DROP');
      inside(gateway, 'iptables', '-A', 'INPUT', '-i', 'wan', '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT');
      inside(gateway, 'iptables', '-A', 'INPUT', '-i', 'wan', '-j', 'DROP');
      topology.privateHosts.push(host);
      topology.gatewayAddresses.push(wan);
      topology.gatewayNamespaces.push(gateway);
    }
  } catch (error) {
    remove();
    throw error;
  }
  return topology;
}

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function inside(namespace: string, ...command: string[]): void {
  execFileSync('ip', ['netns', 'exec', namespace, ...command], { stdio: ['ignore', 'ignore', 'pipe'] });
}
