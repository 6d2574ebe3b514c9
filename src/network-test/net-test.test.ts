import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { nodeHome, validateNodeConfig } from '../config/index.js';
import { generateNodeKey } from '../identity/index.js';
import { silentLogger } from '../log/index.js';
import { parsePrometheusText, sampleValue } from '../metrics/index.js';
import { NodeDaemon } from '../node/index.js';
import { dialPeer, type PeerSession } from '../transport/index.js';
import { interNodeLinksOf, latencyByPeer, measureLink, NetTestFailedError, percentile, summarizeLatency, throughputOf, type NetTestResult } from './index.js';
import { LinkEmulatingProxy } from './testing/link-emulating-proxy.js';

const logger = silentLogger();
const MIB = 1024 * 1024;

function result(local: string, peer: string, at: string, p50Ms: number, upMbps: number, downMbps: number): NetTestResult {
  const figure = (mbps: number) => ({ bytes: MIB, ms: 100, bitsPerSecond: mbps * 1e6, limitedBy: 'bytes' as const });
  return {
    at,
    local: { pubkey: local, npub: `npub-${local}` },
    peer: { url: 'ws://127.0.0.1:1', pubkey: peer, npub: `npub-${peer}` },
    latency: { samples: 10, minMs: p50Ms, meanMs: p50Ms, p50Ms, p95Ms: p50Ms, p99Ms: p50Ms, maxMs: p50Ms },
    upload: figure(upMbps),
    download: figure(downMbps),
    chunkBytes: 1024,
  };
}

describe('net test figures', () => {
  it('takes nearest-rank percentiles of the round trips', () => {
    const samples = Array.from({ length: 100 }, (_, i) => i + 1);
    assert.equal(percentile(samples, 50), 50);
    assert.equal(percentile(samples, 99), 99);
    assert.deepEqual(summarizeLatency([3, 1, 2]), { samples: 3, minMs: 1, meanMs: 2, p50Ms: 2, p95Ms: 3, p99Ms: 3, maxMs: 3 });
  });

  it('takes one minimum round trip off a transfer, never more than half of it', () => {
    assert.equal(throughputOf(1_000_000, 1050, 50, 'bytes').bitsPerSecond, 8_000_000);
    assert.equal(throughputOf(1_000_000, 60, 50, 'bytes').ms, 30);
  });

  it('turns the newest test of each pair into a planner link (slower direction, half the median round trip) and a ranking latency', () => {
    const results = [result('a', 'b', '2025-01-01T00:00:00Z', 40, 900, 800), result('b', 'a', '2025-01-02T00:00:00Z', 10, 500, 2000), result('a', 'c', '2025-01-01T00:00:00Z', 4, 10_000, 9_000)];
    assert.deepEqual(interNodeLinksOf(results), [
      { between: ['b', 'a'], bandwidthGbps: 0.5, latencyMs: 5 },
      { between: ['a', 'c'], bandwidthGbps: 9, latencyMs: 2 },
    ]);
    assert.deepEqual([...latencyByPeer(results)], [['b', 40], ['a', 10], ['c', 4]]);
  });
});

describe('net test between two nodes on loopback', () => {
  let node: NodeDaemon;
  let tester: PeerSession;
  const limits = validateNodeConfig({}, 'test').limits;

  before(async () => {
    const home = nodeHome(await mkdtemp(join(tmpdir(), 'infernet-net-test-')));
    // An aggregator with api.port: its /metrics is served alone, and it counts the test's bytes.
    const config = validateNodeConfig({ role: 'aggregator', listen: { port: 0 }, storage: { backend: 'file' }, api: { port: 0 } }, 'test');
    node = await NodeDaemon.start({ home, config, key: generateNodeKey(), logger, writeState: false });
    // An aggregator does not serve aggregator peers: the session stays open for network tests only.
    tester = await dialPeer(node.url!, { identity: { key: generateNodeKey(), role: 'aggregator', agent: 'test' }, limits, logger });
  });
  after(async () => {
    tester?.close();
    await node?.stop();
  });

  it('measures sane latency and throughput both ways, and the node counts the bytes in its metrics', async () => {
    const measured = await measureLink(tester, { pings: 50, pingIntervalMs: 0, bytes: 16 * MIB, seconds: 5, maxFrameBytes: limits.maxFrameBytes });
    console.log(`loopback: rtt p50 ${measured.latency.p50Ms} ms p99 ${measured.latency.p99Ms} ms, up ${(measured.upload.bitsPerSecond / 1e6).toFixed(0)} Mbit/s, down ${(measured.download.bitsPerSecond / 1e6).toFixed(0)} Mbit/s`);
    assert.equal(measured.latency.samples, 50);
    assert.ok(measured.latency.p50Ms > 0 && measured.latency.p50Ms < 20, `p50 ${measured.latency.p50Ms} ms`);
    assert.ok(measured.latency.p50Ms <= measured.latency.p95Ms && measured.latency.p95Ms <= measured.latency.p99Ms);
    for (const figure of [measured.upload, measured.download]) {
      assert.equal(figure.bytes, 16 * MIB);
      assert.equal(figure.limitedBy, 'bytes');
      assert.ok(figure.bitsPerSecond > 100e6, `${figure.bitsPerSecond} bit/s on loopback`);
    }
    const metrics = parsePrometheusText(await (await fetch(node.metricsUrl!)).text());
    assert.ok(sampleValue(metrics, 'infernet_transport_bytes_total', { direction: 'received' })! > 16 * MIB);
    assert.ok(sampleValue(metrics, 'infernet_transport_bytes_total', { direction: 'sent' })! > 16 * MIB);
  });

  it('stops at the time limit when the byte budget is larger than the link carries in it', async () => {
    const measured = await measureLink(tester, { pings: 2, pingIntervalMs: 0, bytes: 1024 * MIB, seconds: 0.3, maxFrameBytes: limits.maxFrameBytes });
    assert.equal(measured.upload.limitedBy, 'seconds');
    assert.ok(measured.upload.bytes < 1024 * MIB && measured.upload.bytes > 0);
    assert.equal(measured.download.limitedBy, 'seconds');
  });

  it('closes a session that sends test data outside a test it started', async () => {
    const rogue = await dialPeer(node.url!, { identity: { key: generateNodeKey(), role: 'client', agent: 'rogue' }, limits, logger });
    const closed = new Promise<string>((resolve) => rogue.onClose(resolve));
    rogue.send({ type: 'net.data', testId: 'net-unannounced', seq: 0, payload: 'x'.repeat(1000) });
    assert.match(await closed, /1008/);
  });

  it('refuses a test whose announced size is over the limit', async () => {
    const session = await dialPeer(node.url!, { identity: { key: generateNodeKey(), role: 'client', agent: 'big' }, limits, logger });
    await assert.rejects(measureLink(session, { pings: 1, bytes: 2 * 1024 * 1024 * MIB, seconds: 1, maxFrameBytes: limits.maxFrameBytes }), (error: unknown) => error instanceof NetTestFailedError && error.code === 'invalid_frame');
    session.close();
  });
});

// The kernel here has no `tc netem`, so delay and rate are added by a userspace TCP proxy between the nodes.
describe('net test through a userspace proxy adding 20 ms each way and a 40 Mbit/s rate limit', () => {
  const DELAY_MS = 20;
  const RATE = 40e6;
  let node: NodeDaemon;
  let proxy: LinkEmulatingProxy;
  const limits = validateNodeConfig({}, 'test').limits;

  before(async () => {
    const home = nodeHome(await mkdtemp(join(tmpdir(), 'infernet-net-test-')));
    node = await NodeDaemon.start({ home, config: validateNodeConfig({ role: 'aggregator', listen: { port: 0 }, storage: { backend: 'file' } }, 'test'), key: generateNodeKey(), logger, writeState: false });
    proxy = await LinkEmulatingProxy.start(Number(new URL(node.url!).port), { delayMs: DELAY_MS, bitsPerSecond: RATE });
  });
  after(async () => {
    await proxy?.close();
    await node?.stop();
  });

  it('reports a round trip of about 40 ms and about 40 Mbit/s each way', async () => {
    const session = await dialPeer(`ws://127.0.0.1:${proxy.port}`, { identity: { key: generateNodeKey(), role: 'client', agent: 'test' }, limits, logger });
    const measured = await measureLink(session, { pings: 20, pingIntervalMs: 0, bytes: 3 * MIB, seconds: 5, maxFrameBytes: limits.maxFrameBytes });
    session.close();
    console.log(`proxied: rtt p50 ${measured.latency.p50Ms} ms p99 ${measured.latency.p99Ms} ms, up ${(measured.upload.bitsPerSecond / 1e6).toFixed(1)} Mbit/s, down ${(measured.download.bitsPerSecond / 1e6).toFixed(1)} Mbit/s`);
    // Bounds: the round trip is the added 40 ms plus at most 15 ms of loopback and timer jitter. Each rate is judged
    // against what the emulated link carried in that run (its timers fire late on a loaded machine): within 20%
    // (frame headers, the first and last chunks' delay), and never above the link's limit.
    assert.ok(measured.latency.p50Ms >= 2 * DELAY_MS && measured.latency.p50Ms < 2 * DELAY_MS + 15, `p50 ${measured.latency.p50Ms} ms`);
    const carried = { upload: proxy.deliveredBitsPerSecond('toTarget'), download: proxy.deliveredBitsPerSecond('fromTarget') };
    console.log(`the link carried: up ${(carried.upload / 1e6).toFixed(1)} Mbit/s, down ${(carried.download / 1e6).toFixed(1)} Mbit/s`);
    for (const [direction, figure] of Object.entries({ upload: measured.upload, download: measured.download })) {
      const link = carried[direction as keyof typeof carried];
      assert.ok(link > 0.3 * RATE, `the link carried ${direction} bulk at ${link} bit/s`);
      assert.ok(figure.bitsPerSecond > 0.8 * link && figure.bitsPerSecond < 1.2 * Math.min(link, RATE), `${direction} ${figure.bitsPerSecond} bit/s against ${link} carried (limit ${RATE})`);
    }
  });
});
