// `infernet plan --home DIR`: link figures stored by `infernet net test` reach the plan between nodes named by npub.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { generateNodeKey } from '../../src/identity/index.js';
import { appendNetTestResult, netTestsFileOf, type NetTestResult } from '../../src/network-test/index.js';
import { runCli } from '../support/cli.js';

function measured(local: { publicKey: string; npub: string }, peer: { publicKey: string; npub: string }, gbps: number, rttMs: number, at: string): NetTestResult {
  const throughput = { bytes: 1e6, ms: 10, bitsPerSecond: gbps * 1e9, limitedBy: 'bytes' as const };
  const latency = { samples: 20, minMs: rttMs, meanMs: rttMs, p50Ms: rttMs, p95Ms: rttMs, p99Ms: rttMs, maxMs: rttMs };
  return { at, local: { pubkey: local.publicKey, npub: local.npub }, peer: { url: 'ws://127.0.0.1:1', pubkey: peer.publicKey, npub: peer.npub }, latency, upload: throughput, download: throughput, chunkBytes: 65536 };
}

it('`infernet plan --home` applies the newest stored link between two npub-named nodes to the pipeline it explains', async () => {
  const home = await mkdtemp(join(tmpdir(), 'infernet-plan-links-'));
  try {
    const a = generateNodeKey();
    const b = generateNodeKey();
    await appendNetTestResult(netTestsFileOf(home), measured(a, b, 1, 40, '2026-01-01T00:00:00.000Z'));
    await appendNetTestResult(netTestsFileOf(home), measured(b, a, 25, 4, '2026-01-02T00:00:00.000Z'));
    const gpus = `${a.npub}=1x12GB,${b.npub}=1x12GB`;
    const text = await runCli(['plan', '--model', 'llama-3-8b', '--gpus', gpus, '--home', home]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /pipeline of 2 one-GPU stages.*slowest hop 25 Gb\/s, 2 ms/);
    const json = await runCli(['plan', '--model', 'llama-3-8b', '--gpus', gpus, '--home', home, '--json']);
    const { plan, links } = JSON.parse(json.stdout) as { plan: { strategy: string }; links: { between: string[]; bandwidthGbps: number; latencyMs: number }[] };
    assert.equal(plan.strategy, 'pipeline');
    assert.deepEqual(links, [{ between: [b.npub, a.npub], bandwidthGbps: 25, latencyMs: 2 }]);
    const without = await runCli(['plan', '--model', 'llama-3-8b', '--gpus', gpus]);
    assert.doesNotMatch(without.stdout, /slowest hop/);
  } finally {
    await rm(home, { recursive: true, force: true });
  }
});
