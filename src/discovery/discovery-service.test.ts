import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { generateNodeKey } from '../identity/index.js';
import { HEARTBEAT_TOPIC, PROVIDERS_TOPIC } from './constants.js';
import type { DiscoveryService, FoundProvider } from './discovery-service.js';
import { PeerBindingError, RecordSignatureError } from './errors.js';
import { encodeGossip } from './gossip-messages.js';
import { createProviderRecord } from './provider-record.js';
import { ChildNodeProcess } from './testing/child-node-process.js';
import { capturingLogger, H100_NODE, sampleAnnouncement, waitFor } from './testing/fixtures.js';
import { FAST_TIMINGS, LOOPBACK, TestNetwork } from './testing/test-network.js';

const NODES = 20;
const FLOOD_LIMITS = { maxMessages: 20, intervalMs: 5_000, banMs: 30_000 };
const GiB = 1024 ** 3;

const peerIdsOf = (found: FoundProvider[]): string[] => found.map((provider) => provider.peerId).sort();

describe(`a discovery network of ${NODES + 1} libp2p nodes on loopback, bootstrapped from one peer`, () => {
  let network: TestNetwork;
  const captured = capturingLogger('warn');
  let providers: DiscoveryService[];
  let clients: DiscoveryService[];

  before(async () => {
    network = await TestNetwork.start({ size: NODES, floodLimits: FLOOD_LIMITS, logger: captured.logger });
    providers = network.nodes.slice(0, 3);
    clients = network.nodes.slice(3);
    await providers[0]!.announce(sampleAnnouncement({ endpoint: 'ws://127.0.0.1:7001' }));
    await providers[1]!.announce(sampleAnnouncement({ endpoint: 'ws://127.0.0.1:7002', hardware: H100_NODE, price: { amount: '0.01', currency: 'USD', per: '1k_tokens' } }));
    await providers[2]!.announce(sampleAnnouncement({ endpoint: 'ws://127.0.0.1:7003', models: [{ name: 'llama-3-70b', sizeBytes: 40 * GiB }], hardware: H100_NODE }));
  }, { timeout: 60_000 });

  after(async () => {
    await network?.stop();
  }, { timeout: 30_000 });

  it('lets a newly joined client find the providers of its model through the DHT and read their endpoints from verified records', { timeout: 30_000 }, async () => {
    // A client that follows no gossip: whatever it finds, it found through the DHT.
    const client = await network.addNode({ followGossip: false });
    const found = await client.findProviders({ model: 'stories260K', limit: 5 });
    assert.deepEqual(peerIdsOf(found), [providers[0]!.peerId, providers[1]!.peerId].sort());
    const endpoints = Object.fromEntries(found.map((provider) => [provider.peerId, provider.record.endpoint]));
    assert.equal(endpoints[providers[0]!.peerId], 'ws://127.0.0.1:7001');
    assert.equal(endpoints[providers[1]!.peerId], 'ws://127.0.0.1:7002');
    assert.ok(found.every((provider) => provider.source === 'dht' && provider.latencyMs !== undefined && provider.pubkey === provider.record.pubkey));
  });

  it('ranks by fit: a model that only fits an H100 is not offered on a T4', { timeout: 30_000 }, async () => {
    const found = await clients[0]!.findProviders({ model: 'stories260K', memoryBytes: 40 * GiB });
    assert.deepEqual(peerIdsOf(found), [providers[1]!.peerId]);
    assert.equal(found[0]!.placement, 'single-gpu');
  });

  it('answers every client of the network, four lookups at a time', { timeout: 60_000 }, async () => {
    for (let i = 0; i < clients.length; i += 4) {
      const results = await Promise.all(clients.slice(i, i + 4).map((client) => client.findProviders({ model: 'llama-3-70b', memoryBytes: 40 * GiB })));
      for (const found of results) assert.deepEqual(peerIdsOf(found), [providers[2]!.peerId]);
    }
  });

  it('fills every listening node with the providers from gossip, without a lookup', { timeout: 30_000 }, async () => {
    const expected = providers.map((provider) => provider.peerId).sort();
    await waitFor(() => clients.every((client) => client.knownProviders().map((provider) => provider.peerId).sort().join() === expected.join()), {
      timeoutMs: 10_000,
      what: 'every client to know the three providers',
    });
    const known = clients[5]!.knownProviders().find((provider) => provider.peerId === providers[0]!.peerId);
    assert.equal(known?.record.endpoint, 'ws://127.0.0.1:7001');
    await waitFor(() => known?.lastHeartbeatAt, { timeoutMs: 5_000, what: 'a heartbeat from the provider' });
  });

  it('removes a provider that withdraws at once, from its leaving notice', { timeout: 30_000 }, async () => {
    const leaver = await network.addNode();
    await leaver.announce(sampleAnnouncement({ endpoint: 'ws://127.0.0.1:7009', models: [{ name: 'phi-3' }] }));
    const watcher = clients[2]!;
    await waitFor(() => watcher.knownProviders().some((provider) => provider.peerId === leaver.peerId), { timeoutMs: 10_000, what: 'the leaver announced' });
    const removed = once(watcher, 'provider:removed');
    const stoppedAt = Date.now();
    await leaver.stop();
    const [{ provider, reason }] = await removed;
    assert.equal(provider.peerId, leaver.peerId);
    assert.equal(reason, 'left');
    assert.ok(Date.now() - stoppedAt < FAST_TIMINGS.heartbeatTtlMs, 'sooner than silence eviction would have');
    assert.deepEqual(await watcher.findProviders({ model: 'phi-3' }), []);
  });

  it('drops a killed provider from candidate lists within its record TTL', { timeout: 30_000 }, async () => {
    const provider = await ChildNodeProcess.start({ ...LOOPBACK, bootstrap: [network.bootstrapAddress], timings: FAST_TIMINGS });
    try {
      await provider.command({ cmd: 'announce', params: sampleAnnouncement({ endpoint: 'ws://127.0.0.1:7010', models: [{ name: 'mistral-7b' }] }) });
      const client = clients[1]!;
      const before = await client.findProviders({ model: 'mistral-7b' });
      assert.deepEqual(peerIdsOf(before), [provider.peerId]);
      const killedAt = Date.now();
      await provider.kill();
      await waitFor(() => !client.knownProviders().some((known) => known.peerId === provider.peerId), {
        timeoutMs: FAST_TIMINGS.recordTtlMs,
        what: 'the killed provider to be evicted',
      });
      assert.ok(Date.now() - killedAt < FAST_TIMINGS.recordTtlMs);
      // The DHT still points at it, but a dead provider serves no record: it is no candidate.
      assert.deepEqual(await clients[7]!.findProviders({ model: 'mistral-7b' }), []);
    } finally {
      await provider.kill();
    }
  });

  it('refuses forged records from gossip, and keeps the genuine provider as it was', { timeout: 30_000 }, async () => {
    const attacker = await network.addNode();
    const victim = providers[0]!;
    const genuine = victim.currentRecord()!;
    const rejections: Error[] = [];
    const onRejected = ({ peerId, error }: { peerId: string; error: Error }) => {
      if (peerId === attacker.peerId) rejections.push(error);
    };
    const listeners = [...clients, network.bootstrap];
    for (const node of listeners) node.on('record:rejected', onRejected);
    try {
      // 1. The victim's record with its endpoint changed: the signature no longer matches.
      const tampered = { ...genuine.event, content: genuine.event.content.replace('ws://127.0.0.1:7001', 'ws://127.0.0.1:6666') };
      // 2. A record signed by the attacker's own key that claims the victim's peer id and binding.
      const { hardware, models, software } = sampleAnnouncement();
      const claimed = createProviderRecord({
        key: attacker.key,
        peerId: victim.peerId,
        binding: victim.binding,
        input: { hardware, models, software, endpoint: 'ws://127.0.0.1:6666', protocolVersion: 1, load: { activeJobs: 0, slots: 9 } },
        ttlMs: 60_000,
      });
      const pubsub = attacker.libp2p.services.pubsub;
      await pubsub.publish(PROVIDERS_TOPIC, encodeGossip({ v: 1, type: 'record', event: tampered }));
      await pubsub.publish(PROVIDERS_TOPIC, encodeGossip({ v: 1, type: 'record', event: claimed.event }));
      await waitFor(() => rejections.some((error) => error instanceof RecordSignatureError) && rejections.some((error) => error instanceof PeerBindingError || error.name === 'PeerIdMismatchError'), {
        timeoutMs: 10_000,
        what: 'both forgeries to be rejected',
      });
      for (const client of clients) {
        const known = client.knownProviders().find((provider) => provider.peerId === victim.peerId);
        assert.equal(known?.record.endpoint, 'ws://127.0.0.1:7001');
        assert.ok(!client.knownProviders().some((provider) => provider.record.endpoint.includes('6666')));
      }
      assert.ok(captured.lines.some((line) => line.msg === 'provider record rejected' && line.peer === attacker.peerId), 'rejections are logged');
    } finally {
      for (const node of listeners) node.off('record:rejected', onRejected);
    }
  });

  it('bounds a flood of heartbeats from one peer and logs it', { timeout: 30_000 }, async () => {
    const flooder = await network.addNode();
    await flooder.announce(sampleAnnouncement({ endpoint: 'ws://127.0.0.1:7666', models: [{ name: 'flood-model' }] }));
    await waitFor(() => clients.every((client) => client.knownProviders().some((provider) => provider.peerId === flooder.peerId)), {
      timeoutMs: 10_000,
      what: 'the flooder known everywhere',
    });
    const accepted = new Map<DiscoveryService, number>();
    const listeners = [...clients, network.bootstrap].map((node) => {
      const listener = ({ peerId }: { peerId: string }) => {
        if (peerId === flooder.peerId) accepted.set(node, (accepted.get(node) ?? 0) + 1);
      };
      node.on('heartbeat', listener);
      return () => node.off('heartbeat', listener);
    });
    try {
      const flood = 120;
      const startedAt = Date.now();
      for (let i = 0; i < flood; i++) {
        await flooder.libp2p.services.pubsub.publish(HEARTBEAT_TOPIC, encodeGossip({ v: 1, ts: Date.now(), uptimeS: i, load: { activeJobs: 0, slots: 2 } }));
      }
      await waitFor(() => captured.lines.some((line) => line.msg?.toString().startsWith('peer is flooding') && line.peer === flooder.peerId), {
        timeoutMs: 5_000,
        what: 'the flood to be logged',
      });
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      // At most maxMessages per interval reach the application: the flood spans one or two intervals.
      const intervals = 1 + Math.ceil((Date.now() - startedAt) / FLOOD_LIMITS.intervalMs);
      for (const [, count] of accepted) assert.ok(count <= FLOOD_LIMITS.maxMessages * intervals, `a node processed ${count} of ${flood} heartbeats`);
      assert.ok([...accepted.values()].some((count) => count > 0));
    } finally {
      for (const off of listeners) off();
    }
  });

  it('gives each node a libp2p peer id bound to its Nostr key, different from every other', () => {
    const nodes = [network.bootstrap, ...network.nodes];
    assert.equal(new Set(nodes.map((node) => node.peerId)).size, nodes.length);
    for (const node of nodes) {
      assert.equal(node.binding.pubkey, node.key.publicKey);
      assert.ok(node.multiaddrs().every((address) => address.endsWith(`/p2p/${node.peerId}`)));
    }
    assert.notEqual(generateNodeKey().publicKey, nodes[0]!.key.publicKey);
  });
});
