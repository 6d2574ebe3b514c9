// Test-only: a discovery network of real libp2p nodes on loopback, all bootstrapped from one peer.
import { generateNodeKey } from '../../identity/index.js';
import { silentLogger, type Logger } from '../../log/index.js';
import { DiscoveryService, type DiscoveryServiceOptions, type DiscoveryTimings } from '../discovery-service.js';
import type { FloodLimits } from '../flood-guard.js';
import { waitFor } from './fixtures.js';
import { joinedTableSize } from '../join-network.js';

export const LOOPBACK = {
  listen: ['/ip4/127.0.0.1/tcp/0', '/ip4/127.0.0.1/tcp/0/ws'],
  // Dozens of peers on one address: exempt it from the inbound rate limit and gossipsub's same-IP penalty.
  allow: ['/ip4/127.0.0.1'],
};

/** Seconds instead of minutes, so expiry and eviction are seen within a test. */
export const FAST_TIMINGS: DiscoveryTimings = {
  recordTtlMs: 20_000,
  heartbeatIntervalMs: 1_000,
  heartbeatTtlMs: 5_000,
  // A lookup ends when the DHT walk does; the limit only matters on a machine busy with other work.
  lookupTimeoutMs: 15_000,
  provideTimeoutMs: 20_000,
  // Generous: twenty nodes in one process on two cores answer slowly when all look up at once.
  pingTimeoutMs: 5_000,
};

const JOINING_AT_ONCE = 10;

export interface StartTestNetworkOptions {
  /** Nodes besides the bootstrap peer. */
  size: number;
  timings?: Partial<DiscoveryTimings>;
  floodLimits?: Partial<FloodLimits>;
  logger?: Logger;
}

export class TestNetwork {
  private readonly started: DiscoveryService[] = [];

  private constructor(
    readonly bootstrap: DiscoveryService,
    private readonly options: StartTestNetworkOptions,
  ) {
    this.started.push(bootstrap);
  }

  static async start(options: StartTestNetworkOptions): Promise<TestNetwork> {
    const bootstrap = new DiscoveryService(TestNetwork.serviceOptions(options, []));
    await bootstrap.start();
    const network = new TestNetwork(bootstrap, options);
    try {
      // Nodes join a few at a time, as a real network grows: fifty Noise handshakes at once on one event loop take
      // longer than a dial's deadline, and a node whose bootstrap dial failed waits a heartbeat to try again.
      for (let started = 0; started < options.size; started += JOINING_AT_ONCE) {
        await Promise.all(Array.from({ length: Math.min(JOINING_AT_ONCE, options.size - started) }, () => network.addNode()));
      }
      await network.settle();
      return network;
    } catch (error) {
      await network.stop();
      throw error;
    }
  }

  /**
   * Waits until every node has joined: it knows a few peers besides the bootstrap and is not looking itself up any
   * more (see join-network.ts). Until then lookups miss it and provides time out.
   */
  async settle(timeoutMs = 30_000): Promise<void> {
    const running = this.started.filter((node) => node.isStarted);
    // The table the join rule stops at, for the one bootstrap peer of a test network (or every other node of a small one).
    const minimum = Math.min(running.length - 1, joinedTableSize(1));
    const unjoined = (): DiscoveryService[] => running.filter((node) => node.isJoining || routingTableSize(node) < minimum);
    await waitFor(() => unjoined().length === 0, { timeoutMs, intervalMs: 250, what: 'every node to join the DHT' }).catch((error: Error) => {
      const report = unjoined().map((node) => `table ${routingTableSize(node)}, ${node.libp2p.getConnections().length} connections${node.isJoining ? ', joining' : ''}`);
      throw new Error(`${error.message}: ${report.length} of ${running.length} not joined (${report.join('; ')})`);
    });
  }

  /** Every node but the bootstrap peer, in the order started. */
  get nodes(): DiscoveryService[] {
    return this.started.slice(1);
  }

  get bootstrapAddress(): string {
    return this.bootstrap.multiaddrs()[0]!;
  }

  async addNode(overrides: Partial<DiscoveryServiceOptions> = {}): Promise<DiscoveryService> {
    const node = new DiscoveryService({ ...TestNetwork.serviceOptions(this.options, [this.bootstrapAddress]), ...overrides });
    this.started.push(node);
    await node.start();
    return node;
  }

  async stop(): Promise<void> {
    await Promise.all(this.started.map((node) => withTimeout(node.stop(), 10_000).catch(() => undefined)));
  }

  private static serviceOptions(options: StartTestNetworkOptions, bootstrap: string[]): DiscoveryServiceOptions {
    return {
      key: generateNodeKey(),
      logger: options.logger ?? silentLogger(),
      ...LOOPBACK,
      bootstrap,
      timings: { ...FAST_TIMINGS, ...options.timings },
      ...(options.floodLimits ? { floodLimits: options.floodLimits } : {}),
    };
  }
}

/** Kad-DHT keeps its routing table out of its public type; tests and benchmarks read its size. */
export function routingTableSize(node: DiscoveryService): number {
  return (node.libp2p.services.dht as unknown as { routingTable: { size: number } }).routingTable.size;
}

async function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`gave up after ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
