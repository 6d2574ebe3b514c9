import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '../log/index.js';
import { AggregatorDiscovery, type AggregatorAnnouncement } from './aggregator-discovery.js';
import { createAggregatorRecord } from './aggregator-record.js';
import { AGGREGATORS_TOPIC } from './constants.js';
import type { DiscoveryService } from './discovery-service.js';
import { PeerIdMismatchError, RecordSignatureError } from './errors.js';
import { waitFor } from './testing/fixtures.js';
import { TestNetwork } from './testing/test-network.js';

const announcement = (endpoint: string, models: string[], feeBps = 0): AggregatorAnnouncement => ({
  endpoint,
  feeBps,
  software: { infernet: 'test' },
  snapshot: () => ({ models, load: { providers: models.length, activeJobs: 0 } }),
});

const gossip = (event: unknown) => new TextEncoder().encode(JSON.stringify({ v: 1, type: 'record', event }));

describe('aggregators in discovery: a small libp2p network on loopback', () => {
  let network: TestNetwork;
  const discoveries: AggregatorDiscovery[] = [];
  let first: AggregatorDiscovery;
  let second: AggregatorDiscovery;
  let follower: AggregatorDiscovery;
  let attacker: DiscoveryService;
  const firstModels = ['stories260K'];

  const attach = async (service: DiscoveryService, follow = true): Promise<AggregatorDiscovery> => {
    const discovery = new AggregatorDiscovery(service, { logger: silentLogger(), follow, recordTtlMs: 4_000, checkIntervalMs: 500, lookupTimeoutMs: 15_000, pingTimeoutMs: 5_000 });
    await discovery.start();
    discoveries.push(discovery);
    return discovery;
  };

  before(async () => {
    network = await TestNetwork.start({ size: 3 });
    const [a, b, c] = network.nodes as [DiscoveryService, DiscoveryService, DiscoveryService];
    follower = await attach(c);
    // The bootstrap peer is an aggregator too: the first node of a network, with nobody to store its pointer at first.
    first = await attach(network.bootstrap);
    second = await attach(a);
    attacker = b;
    await attach(b);
    first.announce(announcement('ws://127.0.0.1:7101', firstModels, 100));
    second.announce(announcement('ws://127.0.0.1:7102', ['llama-3-8b'], 300));
  }, { timeout: 60_000 });

  after(async () => {
    for (const discovery of discoveries) await discovery.stop();
    await network?.stop();
  }, { timeout: 30_000 });

  it('lets a client that follows no gossip find every aggregator, with verified records and a measured round trip', { timeout: 40_000 }, async () => {
    const client = await attach(await network.addNode({ followGossip: false }), false);
    const found = await waitFor(async () => {
      const all = await client.findAggregators();
      return all.length === 2 ? all : undefined;
    }, { timeoutMs: 30_000, intervalMs: 500, what: 'both aggregators to be found' });
    const byEndpoint = Object.fromEntries(found.map((known) => [known.record.endpoint, known]));
    assert.equal(byEndpoint['ws://127.0.0.1:7101']?.peerId, network.bootstrap.peerId);
    assert.equal(byEndpoint['ws://127.0.0.1:7101']?.record.feeBps, 100);
    assert.deepEqual(byEndpoint['ws://127.0.0.1:7102']?.record.models, ['llama-3-8b']);
    assert.ok(found.every((known) => known.latencyMs !== undefined && known.pubkey === known.record.pubkey));
  });

  it('serves a record that says what is true now: models its providers gained since the announce', { timeout: 40_000 }, async () => {
    firstModels.push('qwen-0.5b');
    const client = await attach(await network.addNode({ followGossip: false }), false);
    const found = await client.findAggregators();
    assert.deepEqual(found.find((known) => known.peerId === network.bootstrap.peerId)?.record.models, ['qwen-0.5b', 'stories260K']);
  });

  it('fills a following node\'s list from gossip', { timeout: 30_000 }, async () => {
    // Announced before the follower's subscription had spread: each arrives with its next re-signing (half its TTL).
    await waitFor(() => follower.list().length >= 2, { timeoutMs: 20_000, intervalMs: 200, what: 'both aggregator records to arrive by gossip' });
    assert.deepEqual(follower.list().map((known) => known.record.endpoint).sort(), ['ws://127.0.0.1:7101', 'ws://127.0.0.1:7102']);
  });

  it('refuses a genuine record replayed on gossip by another peer, and a record whose fee was rewritten', { timeout: 30_000 }, async () => {
    // The attacker relays the first aggregator's signed record as its own message: gossipsub signs it as from the attacker.
    const stolen = first.currentEvent()!;
    const replayed = once(follower, 'record:rejected');
    await attacker.libp2p.services.pubsub.publish(AGGREGATORS_TOPIC, gossip(stolen));
    const [replay] = await replayed;
    assert.equal(replay.peerId, attacker.peerId);
    assert.ok(replay.error instanceof PeerIdMismatchError, replay.error.name);
    // Its own record with a fee lowered after signing, to be ranked first.
    const own = createAggregatorRecord({ key: attacker.key, peerId: attacker.peerId, binding: attacker.binding, input: { endpoint: 'ws://127.0.0.1:7666', feeBps: 4000, models: ['stories260K'], load: { providers: 1, activeJobs: 0 }, software: {}, protocolVersion: 1 }, ttlMs: 60_000 });
    const rewritten = once(follower, 'record:rejected');
    await attacker.libp2p.services.pubsub.publish(AGGREGATORS_TOPIC, gossip({ ...own.event, content: own.event.content.replace('"feeBps":4000', '"feeBps":0') }));
    const [tampered] = await rewritten;
    assert.ok(tampered.error instanceof RecordSignatureError, tampered.error.name);
    assert.ok(!follower.list().some((known) => known.peerId === attacker.peerId || known.record.endpoint === 'ws://127.0.0.1:7666'));
  });
});
