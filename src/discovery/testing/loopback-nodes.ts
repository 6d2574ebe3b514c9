// Test-only: real libp2p discovery nodes on loopback for one test file, each with a fresh key, listening on
// 127.0.0.1 and allowed to dial it; `stop` stops every node started.
import { generateNodeKey } from '../../identity/index.js';
import { silentLogger } from '../../log/index.js';
import { createDiscoveryNode, type CreateDiscoveryNodeOptions, type DiscoveryNode } from '../create-discovery-node.js';

export class LoopbackNodes {
  private readonly nodes: DiscoveryNode[] = [];

  /** A node with `options` over the loopback defaults (silent logger, 127.0.0.1 listener). */
  async start(options: Partial<CreateDiscoveryNodeOptions> = {}): Promise<DiscoveryNode> {
    const node = await createDiscoveryNode({ key: generateNodeKey(), logger: silentLogger(), listen: ['/ip4/127.0.0.1/tcp/0'], allow: ['/ip4/127.0.0.1'], ...options });
    this.nodes.push(node);
    return node;
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.stop()));
  }
}
