// What finding a provider costs on a discovery network of real libp2p nodes on loopback: DHT lookup latency, the
// full findProviders (lookup, record fetch and verification, ping, ranking), and gossip delivery to every node,
// against a plain libp2p ping round trip measured in the same run. All nodes share one process, so every
// figure includes the CPU contention of the whole network on this machine.
//   node_modules/.bin/node dist/bench/discovery.js [nodes=50] [lookups=40] [gossipRounds=10]
import { peerIdFromString } from '@libp2p/peer-id';
import { cidOfKey, modelKey, type DiscoveryService } from '../src/discovery/index.js';
import { sampleAnnouncement, waitFor } from '../src/discovery/testing/fixtures.js';
import { routingTableSize, TestNetwork } from '../src/discovery/testing/test-network.js';
import { reportFigure } from './summary/bench-figure.js';

const nodeCount = Number(process.argv[2] ?? 50);
const lookups = Number(process.argv[3] ?? 40);
const gossipRounds = Number(process.argv[4] ?? 10);
const providerCount = 5;
const BENCH_TOPIC = 'infernet/bench/1';

const percentile = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
};
const row = (name: string, values: number[], note = ''): string =>
  `${name.padEnd(38)} ${percentile(values, 50).toFixed(1).padStart(8)} ${percentile(values, 95).toFixed(1).padStart(8)} ${Math.max(...values).toFixed(1).padStart(8)} ${String(values.length).padStart(5)}  ${note}`;
const pick = <T>(items: readonly T[], i: number): T => items[i % items.length]!;

const setupStarted = performance.now();
// Slow heartbeats and long-lived records: the network is measured, not kept busy refreshing itself.
const network = await TestNetwork.start({ size: nodeCount - 1, timings: { heartbeatIntervalMs: 5_000, heartbeatTtlMs: 60_000, recordTtlMs: 300_000, lookupTimeoutMs: 30_000 } });
const setupMs = performance.now() - setupStarted;
const nodes = network.nodes;
const tables = [network.bootstrap, ...nodes].map(routingTableSize);

try {
  // 1. Plain libp2p ping round trips between connected pairs: the floor every other figure sits on.
  const pings: number[] = [];
  for (let i = 0; i < lookups * 2; i++) {
    const from = pick(nodes, i * 7);
    const to = pick(nodes, i * 7 + 3);
    const started = performance.now();
    await from.libp2p.services.ping.ping(peerIdFromString(to.peerId), { signal: AbortSignal.timeout(10_000) });
    pings.push(performance.now() - started);
  }

  // 2. Providers announce one model each; DHT lookups from nodes spread over the network.
  const providers = nodes.slice(0, providerCount);
  const announceMs: number[] = [];
  for (const [index, provider] of providers.entries()) {
    const started = performance.now();
    await provider.announce(sampleAnnouncement({ models: [{ name: `bench-model-${index}` }], endpoint: `ws://127.0.0.1:${7100 + index}` }));
    announceMs.push(performance.now() - started);
  }
  const clients = nodes.slice(providerCount);
  const dhtFirst: number[] = [];
  const dhtComplete: number[] = [];
  let missed = 0;
  for (let i = 0; i < lookups; i++) {
    const client = pick(clients, i * 11);
    const cid = await cidOfKey(modelKey(`bench-model-${i % providerCount}`));
    const started = performance.now();
    let first: number | undefined;
    for await (const _provider of client.libp2p.contentRouting.findProviders(cid, { signal: AbortSignal.timeout(30_000) })) {
      first ??= performance.now() - started;
    }
    dhtComplete.push(performance.now() - started);
    if (first === undefined) missed++;
    else dhtFirst.push(first);
  }

  // 3. The whole findProviders, from fresh clients that follow no gossip: DHT, record fetch, verify, ping, rank.
  const fullLookups: number[] = [];
  const fresh: DiscoveryService[] = [];
  for (let i = 0; i < Math.min(10, lookups); i++) fresh.push(await network.addNode({ followGossip: false }));
  await network.settle();
  for (const [i, client] of fresh.entries()) {
    const started = performance.now();
    const found = await client.findProviders({ model: `bench-model-${i % providerCount}` });
    fullLookups.push(performance.now() - started);
    if (found.length !== 1) missed++;
  }

  // 4. Gossip: one message from one node until every other node has it.
  const listeners = [network.bootstrap, ...nodes];
  for (const node of listeners) node.libp2p.services.pubsub.subscribe(BENCH_TOPIC);
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  const toAll: number[] = [];
  const perNode: number[] = [];
  for (let round = 0; round < gossipRounds; round++) {
    const sender = pick(nodes, round * 13);
    const receivers = listeners.filter((node) => node !== sender);
    const received = new Map<DiscoveryService, number>();
    const payload = new TextEncoder().encode(`round ${round}`);
    const handlers = receivers.map((node) => {
      const handler = (event: CustomEvent<{ topic: string; data: Uint8Array }>): void => {
        if (event.detail.topic === BENCH_TOPIC && !received.has(node) && new TextDecoder().decode(event.detail.data) === `round ${round}`) received.set(node, performance.now());
      };
      node.libp2p.services.pubsub.addEventListener('message', handler);
      return () => node.libp2p.services.pubsub.removeEventListener('message', handler);
    });
    const started = performance.now();
    await sender.libp2p.services.pubsub.publish(BENCH_TOPIC, payload);
    await waitFor(() => received.size === receivers.length, { timeoutMs: 20_000, intervalMs: 5, what: `gossip round ${round} to reach all ${receivers.length} nodes` });
    for (const off of handlers) off();
    const times = [...received.values()].map((at) => at - started);
    perNode.push(...times);
    toAll.push(Math.max(...times));
  }

  // 5. A provider's signed record, gossiped at announce, until every node holds it verified.
  const recordToAll: number[] = [];
  for (let round = 0; round < 3; round++) {
    const provider = pick(clients, round * 17 + 1);
    const others = listeners.filter((node) => node !== provider);
    const addedAt = new Map<DiscoveryService, number>();
    const handlers = others.map((node) => {
      const handler = (known: { peerId: string }): void => {
        if (known.peerId === provider.peerId && !addedAt.has(node)) addedAt.set(node, performance.now());
      };
      node.on('provider:added', handler);
      return () => node.off('provider:added', handler);
    });
    const started = performance.now();
    await provider.announce(sampleAnnouncement({ models: [{ name: `bench-late-${round}` }] }));
    await waitFor(() => addedAt.size === others.length, { timeoutMs: 30_000, intervalMs: 5, what: 'the record to reach every node' });
    for (const off of handlers) off();
    recordToAll.push(Math.max(...addedAt.values()) - started);
  }

  console.log(`discovery network   ${nodeCount} nodes on loopback, one process, ${providerCount} providers; ready in ${(setupMs / 1000).toFixed(1)} s`);
  console.log(`routing tables      min ${Math.min(...tables)}, median ${percentile(tables, 50)}, max ${Math.max(...tables)} peers`);
  console.log('');
  console.log(`${'measure (ms)'.padEnd(38)} ${'p50'.padStart(8)} ${'p95'.padStart(8)} ${'max'.padStart(8)} ${'n'.padStart(5)}`);
  console.log(row('libp2p ping round trip', pings, 'connected pair, baseline'));
  console.log(row('DHT lookup, first provider', dhtFirst, `${missed} lookups found nothing`));
  console.log(row('DHT lookup, walk complete', dhtComplete));
  console.log(row('findProviders, fresh client', fullLookups, 'DHT + fetch + verify + ping'));
  console.log(row('announce (sign, gossip, DHT provide)', announceMs));
  console.log(row(`gossip to all ${listeners.length - 1} nodes`, toAll));
  console.log(row('gossip to one node', perNode));
  console.log(row('signed record to all nodes', recordToAll, 'announce → verified everywhere'));
  console.log('');
  console.log(`ratios to ping p50: DHT first provider ${(percentile(dhtFirst, 50) / percentile(pings, 50)).toFixed(0)}x, gossip to all ${(percentile(toAll, 50) / percentile(pings, 50)).toFixed(0)}x`);
  reportFigure({ name: 'DHT lookup p50 / libp2p ping p50', value: percentile(dhtFirst, 50) / percentile(pings, 50), unit: 'x' });
  reportFigure({ name: 'DHT lookup p95 / libp2p ping p50', value: percentile(dhtFirst, 95) / percentile(pings, 50), unit: 'x' });
  reportFigure({ name: 'network ready (join) time', value: setupMs, unit: 'ms' });
} finally {
  await network.stop();
}
