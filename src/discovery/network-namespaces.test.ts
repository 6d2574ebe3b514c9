import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FoundProvider } from './discovery-service.js';
import { ChildNodeProcess } from './testing/child-node-process.js';
import { sampleAnnouncement, waitFor } from './testing/fixtures.js';
import { canCreateNamespaces, createNamespaceLan, type NamespaceLan } from './testing/network-namespaces.js';
import { FAST_TIMINGS } from './testing/test-network.js';

const skip = canCreateNamespaces() ? false : 'needs root and iproute2 to create network namespaces';

describe('discovery across network namespaces joined by veth links', { skip }, () => {
  let lan: NamespaceLan;
  const nodes: ChildNodeProcess[] = [];
  let bootstrap: ChildNodeProcess;
  let provider: ChildNodeProcess;
  let client: ChildNodeProcess;

  before(async () => {
    lan = createNamespaceLan(3);
    const start = async (index: number, bootstrapAddresses: string[]): Promise<ChildNodeProcess> => {
      const host = lan.hosts[index]!;
      const node = await ChildNodeProcess.start(
        { listen: [`/ip4/${host.address}/tcp/0`, `/ip4/${host.address}/tcp/0/ws`], bootstrap: bootstrapAddresses, timings: FAST_TIMINGS },
        lan.exec(host),
      );
      nodes.push(node);
      return node;
    };
    bootstrap = await start(0, []);
    [provider, client] = await Promise.all([start(1, bootstrap.multiaddrs), start(2, bootstrap.multiaddrs)]);
  }, { timeout: 60_000 });

  after(async () => {
    await Promise.all(nodes.map((node) => node.stop()));
    lan?.remove();
  }, { timeout: 30_000 });

  it('lets a client in one namespace find a provider in another through a bootstrap peer in a third', { timeout: 60_000 }, async () => {
    const providerHost = lan.hosts[1]!;
    await provider.command({ cmd: 'announce', params: sampleAnnouncement({ endpoint: `ws://${providerHost.address}:7420` }) });
    const found = await waitFor(
      async () => {
        const { providers } = await client.command<{ providers: FoundProvider[] }>({ cmd: 'find', params: { model: 'stories260K' } });
        return providers.length > 0 && providers;
      },
      { timeoutMs: 30_000, intervalMs: 500, what: 'the client to find the provider' },
    );
    assert.equal(found[0]!.peerId, provider.peerId);
    assert.equal(found[0]!.record.endpoint, `ws://${providerHost.address}:7420`);
    assert.ok(found[0]!.latencyMs !== undefined);

    const { connections } = await client.command<{ connections: string[] }>({ cmd: 'status' });
    assert.ok(connections.length > 0);
    for (const address of connections) assert.match(address, /^\/ip4\/10\.213\.0\.[123]\//, 'every connection crosses the veth link');
  });

  it('drops the provider from the client once it is killed', { timeout: 30_000 }, async () => {
    await provider.kill();
    await waitFor(
      async () => {
        const { known } = await client.command<{ known: string[] }>({ cmd: 'status' });
        return !known.includes(provider.peerId);
      },
      { timeoutMs: FAST_TIMINGS.recordTtlMs, intervalMs: 500, what: 'the killed provider to be evicted' },
    );
  });
});
