import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Price } from '../protocol/index.js';
import type { HardwareSummary } from './hardware-summary.js';
import { latencyScore, placementOf, rankProviderRecords, type RankingCandidate } from './rank-provider-records.js';
import { CPU_MACHINE, H100_NODE, T4_MACHINE } from './testing/fixtures.js';

const GiB = 1024 ** 3;
const USD = (amount: string): Price => ({ amount, currency: 'USD', per: '1k_tokens' });

interface Spec {
  hardware?: HardwareSummary;
  models?: string[];
  price?: Price;
  active?: number;
  slots?: number;
  reputation?: number;
  latencyMs?: number;
}

function candidate(peerId: string, spec: Spec = {}): RankingCandidate {
  return {
    record: {
      peerId,
      models: (spec.models ?? ['llama']).map((name) => ({ name })),
      hardware: spec.hardware ?? T4_MACHINE,
      ...(spec.price ? { price: spec.price } : {}),
    },
    load: { activeJobs: spec.active ?? 0, slots: spec.slots ?? 4 },
    ...(spec.reputation !== undefined ? { reputation: spec.reputation } : {}),
    ...(spec.latencyMs !== undefined ? { latencyMs: spec.latencyMs } : {}),
  };
}

const order = (candidates: RankingCandidate[], memoryBytes = 0, model = 'llama'): string[] =>
  rankProviderRecords(candidates, { model, memoryBytes }).map((ranked) => ranked.record.peerId);

describe('placementOf', () => {
  const cases: Array<[string, HardwareSummary, number, string | undefined]> = [
    ['a 4 GiB model on one T4', T4_MACHINE, 4 * GiB, 'single-gpu'],
    ['a 20 GiB model on a T4 machine with 32 GiB RAM', T4_MACHINE, 20 * GiB, 'system-memory'],
    ['a 40 GiB model on a T4 machine', T4_MACHINE, 40 * GiB, undefined],
    ['a 70 GiB model on one H100', H100_NODE, 70 * GiB, 'single-gpu'],
    ['a 400 GiB model across 8 H100s', H100_NODE, 400 * GiB, 'multi-gpu'],
    ['a 1 GiB model on a CPU-only laptop', CPU_MACHINE, 1 * GiB, 'system-memory'],
    ['an unknown need on a CPU-only laptop', CPU_MACHINE, 0, 'system-memory'],
  ];
  for (const [what, hardware, memoryBytes, expected] of cases) {
    it(`places ${what}: ${expected ?? 'nowhere'}`, () => assert.equal(placementOf(hardware, memoryBytes), expected));
  }
});

describe('rankProviderRecords', () => {
  const cases: Array<{ name: string; candidates: RankingCandidate[]; memoryBytes?: number; model?: string; expected: string[] }> = [
    {
      name: 'leaves out providers that do not serve the model',
      candidates: [candidate('a', { models: ['other'] }), candidate('b')],
      expected: ['b'],
    },
    {
      name: 'leaves out providers with every slot busy',
      candidates: [candidate('a', { active: 4, slots: 4 }), candidate('b', { active: 3, slots: 4 })],
      expected: ['b'],
    },
    {
      name: 'leaves out providers that cannot hold the model at all',
      candidates: [candidate('laptop', { hardware: CPU_MACHINE }), candidate('h100', { hardware: H100_NODE })],
      memoryBytes: 100 * GiB,
      expected: ['h100'],
    },
    {
      name: 'prefers a model in VRAM to one in system memory',
      candidates: [candidate('laptop', { hardware: CPU_MACHINE }), candidate('t4')],
      memoryBytes: 4 * GiB,
      expected: ['t4', 'laptop'],
    },
    {
      name: 'prefers the better reputation, all else equal',
      candidates: [candidate('a', { reputation: 0.2 }), candidate('b', { reputation: 0.9 }), candidate('c')],
      expected: ['b', 'c', 'a'],
    },
    {
      name: 'prefers more free slots, all else equal',
      candidates: [candidate('busy', { active: 3 }), candidate('idle', { active: 0 }), candidate('half', { active: 2 })],
      expected: ['idle', 'half', 'busy'],
    },
    {
      name: 'prefers the cheaper provider, all else equal',
      candidates: [candidate('dear', { price: USD('0.004') }), candidate('cheap', { price: USD('0.001') }), candidate('mid', { price: USD('0.002') })],
      expected: ['cheap', 'mid', 'dear'],
    },
    {
      name: 'prefers the lower measured latency, and an unmeasured one sits in the middle',
      candidates: [candidate('far', { latencyMs: 400 }), candidate('near', { latencyMs: 2 }), candidate('unknown')],
      expected: ['near', 'unknown', 'far'],
    },
    {
      name: 'lets a much better reputation outweigh a slower link',
      candidates: [candidate('fast-but-bad', { latencyMs: 5, reputation: 0.1 }), candidate('slow-but-good', { latencyMs: 150, reputation: 1 })],
      expected: ['slow-but-good', 'fast-but-bad'],
    },
    {
      name: 'orders equal candidates by peer id, so the result is stable',
      candidates: [candidate('c'), candidate('a'), candidate('b')],
      expected: ['a', 'b', 'c'],
    },
  ];
  for (const { name, candidates, memoryBytes, model, expected } of cases) {
    it(name, () => assert.deepEqual(order(candidates, memoryBytes, model), expected));
  }

  it('reports each score in [0, 1] with the placement', () => {
    const [ranked] = rankProviderRecords([candidate('a', { price: USD('0.002'), latencyMs: 100, active: 1, reputation: 0.8 })], { model: 'llama', memoryBytes: GiB });
    assert.ok(ranked);
    assert.equal(ranked.placement, 'single-gpu');
    assert.deepEqual(ranked.scores, { fit: 1, reputation: 0.8, load: 0.75, price: 1, latency: 0.5 });
    assert.ok(ranked.score > 0 && ranked.score <= 1);
  });

  it('gives latency a score that halves at 100 ms', () => {
    assert.equal(latencyScore(0), 1);
    assert.equal(latencyScore(100), 0.5);
    assert.equal(latencyScore(undefined), 0.5);
  });
});
