// Test-only: network namespaces joined by veth pairs on a bridge, so nodes talk over real links instead of
// loopback. Needs root and iproute2. The bridge lives in its own hub namespace and every address is assigned
// inside a node's namespace: nothing on the host's own network changes.
import { execFileSync } from 'node:child_process';

export interface NamespaceHost {
  /** The namespace name, for `ip netns exec`. */
  namespace: string;
  /** Its address on the shared link, e.g. 10.213.0.2. */
  address: string;
}

export interface NamespaceLan {
  hosts: NamespaceHost[];
  /** The command prefix that runs a program inside host i. */
  exec(host: NamespaceHost): string[];
  remove(): void;
}

/** Whether this process may create namespaces: root, with the ip tool present. */
export function canCreateNamespaces(): boolean {
  if (process.getuid?.() !== 0) return false;
  try {
    execFileSync('ip', ['netns', 'list'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Creates `count` namespaces on one /24 behind a bridge. Names carry the process id so parallel runs do not
 * collide; anything left by a crashed run of the same pid is removed first.
 */
export function createNamespaceLan(count: number, subnet = '10.213.0'): NamespaceLan {
  const prefix = `infd${process.pid}`;
  const hub = `${prefix}h`;
  const hosts = Array.from({ length: count }, (_, i) => ({ namespace: `${prefix}n${i}`, address: `${subnet}.${i + 1}` }));
  const lan: NamespaceLan = {
    hosts,
    exec: (host) => ['ip', 'netns', 'exec', host.namespace],
    remove: () => {
      for (const namespace of [hub, ...hosts.map((host) => host.namespace)]) {
        try {
          execFileSync('ip', ['netns', 'del', namespace], { stdio: 'ignore' });
        } catch {
          // Not there: nothing to remove.
        }
      }
    },
  };
  lan.remove();
  try {
    ip('netns', 'add', hub);
    ip('-n', hub, 'link', 'add', 'br0', 'type', 'bridge');
    ip('-n', hub, 'link', 'set', 'br0', 'up');
    hosts.forEach((host, i) => {
      ip('netns', 'add', host.namespace);
      // Created inside the hub with its peer placed straight into the node's namespace: the host never sees either end.
      ip('-n', hub, 'link', 'add', `veth${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', host.namespace);
      ip('-n', hub, 'link', 'set', `veth${i}`, 'master', 'br0', 'up');
      ip('-n', host.namespace, 'link', 'set', 'lo', 'up');
      ip('-n', host.namespace, 'addr', 'add', `${host.address}/24`, 'dev', 'eth0');
      ip('-n', host.namespace, 'link', 'set', 'eth0', 'up');
    });
  } catch (error) {
    lan.remove();
    throw error;
  }
  return lan;
}

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}
