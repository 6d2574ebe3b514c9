import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { seededRandom } from '../verification/seeded-random.js';
import { drawProvider, rankProviders, type ProviderCandidate } from './provider-selection.js';

const candidate = (id: string, slots: number, activeJobs: number, models = ['stories260K'], amount?: string): ProviderCandidate => ({
  id,
  activeJobs,
  capabilities: { models: models.map((name) => ({ name })), slots, ...(amount ? { price: { amount, currency: 'USDC', per: '1k_tokens' as const } } : {}) },
});

describe('rankProviders', () => {
  const table: Array<[string, ProviderCandidate[], Parameters<typeof rankProviders>[1], string[]]> = [
    ['keeps only providers of the model', [candidate('a', 1, 0, ['other']), candidate('b', 1, 0)], { model: { name: 'stories260K' } }, ['b']],
    ['drops providers with no free slot', [candidate('a', 1, 1), candidate('b', 2, 1)], { model: { name: 'stories260K' } }, ['b']],
    ['prefers the most free slots', [candidate('a', 2, 1), candidate('b', 4, 1)], { model: { name: 'stories260K' } }, ['b', 'a']],
    ['then the cheapest', [candidate('a', 1, 0, undefined, '0.5'), candidate('b', 1, 0, undefined, '0.2')], { model: { name: 'stories260K' } }, ['b', 'a']],
    [
      'drops providers above the price cap',
      [candidate('a', 1, 0, undefined, '0.5'), candidate('b', 1, 0, undefined, '0.2')],
      { model: { name: 'stories260K' }, priceCap: { amount: '0.3', currency: 'USDC', per: '1k_tokens' } },
      ['b'],
    ],
    ['returns nobody when nobody fits', [candidate('a', 1, 1)], { model: { name: 'stories260K' } }, []],
    ['puts a provider with a worse reputation after one with more free slots and a better one', [{ ...candidate('a', 4, 0), reputation: 0.2 }, { ...candidate('b', 1, 0), reputation: 0.9 }], { model: { name: 'stories260K' } }, ['b', 'a']],
    ['ranks an unknown provider (neutral) between good and bad ones', [{ ...candidate('a', 1, 0), reputation: 0.1 }, candidate('b', 1, 0), { ...candidate('c', 1, 0), reputation: 0.95 }], { model: { name: 'stories260K' } }, ['c', 'b', 'a']],
    [
      'sends a model named by content id to a provider that fetches models only when no holder can take it',
      [{ ...candidate('a', 1, 0, ['other']), capabilities: { models: [{ name: 'other' }], slots: 1, fetchesModels: true } }, candidate('b', 1, 1)],
      { model: { name: 'stories260K', cid: 'bafkreicysg23kiwv34eg2d7qweipxwosdo2py4ldv42nbauguluen5v6am' } },
      ['a'],
    ],
    [
      'keeps a model named by content id on its holders while one has a free slot',
      [{ ...candidate('a', 4, 0, ['other']), capabilities: { models: [{ name: 'other' }], slots: 4, fetchesModels: true } }, candidate('b', 1, 0)],
      { model: { name: 'stories260K', cid: 'bafkreicysg23kiwv34eg2d7qweipxwosdo2py4ldv42nbauguluen5v6am' } },
      ['b'],
    ],
    ['never sends a model without a content id to a provider that lacks it', [{ ...candidate('a', 1, 0, ['other']), capabilities: { models: [{ name: 'other' }], slots: 1, fetchesModels: true } }], { model: { name: 'stories260K' } }, []],
    [
      'sends an embed job only to providers that list the kind, even when a chat-only one has more free slots',
      [candidate('chat', 4, 0), { ...candidate('embedder', 1, 0), capabilities: { models: [{ name: 'stories260K' }], slots: 1, jobKinds: ['generate', 'embed'] } }],
      { model: { name: 'stories260K' }, kind: 'embed' },
      ['embedder'],
    ],
    ['finds nobody for an embed job among providers that predate job kinds', [candidate('a', 1, 0), candidate('b', 2, 0)], { model: { name: 'stories260K' }, kind: 'embed' }, []],
    [
      'keeps chat jobs off a provider that lists only embed',
      [{ ...candidate('a', 4, 0), capabilities: { models: [{ name: 'stories260K' }], slots: 4, jobKinds: ['embed'] } }, candidate('b', 1, 0)],
      { model: { name: 'stories260K' } },
      ['b'],
    ],
    ['ignores reputation differences under a twentieth', [{ ...candidate('a', 2, 0), reputation: 0.71 }, { ...candidate('b', 1, 0), reputation: 0.72 }], { model: { name: 'stories260K' } }, ['a', 'b']],
    ['ranks by reputation once it differs by a twentieth or more', [{ ...candidate('a', 2, 0), reputation: 0.66 }, { ...candidate('b', 1, 0), reputation: 0.73 }], { model: { name: 'stories260K' } }, ['b', 'a']],
  ];
  for (const [rule, candidates, job, expected] of table) {
    it(rule, () => assert.deepEqual(rankProviders(candidates, job).map((c) => c.id), expected));
  }
});

describe('drawProvider (checks, and jobs under a policy, go to a provider drawn at random)', () => {
  const candidate = (id: string, reputation?: number): ProviderCandidate => ({ id, capabilities: { models: [{ name: 'm' }], slots: 1 } as ProviderCandidate['capabilities'], activeJobs: 0, ...(reputation !== undefined ? { reputation } : {}) });
  it('draws in proportion to reputation, so no candidate is certain and a proven one is drawn most (fixed seed, 10,000 draws)', () => {
    const candidates = [candidate('proven', 0.8), candidate('fresh'), candidate('caught', 0.05)];
    const random = seededRandom(7);
    const counts = new Map<string, number>();
    for (let i = 0; i < 10_000; i++) {
      const drawn = drawProvider(candidates, random)!.id;
      counts.set(drawn, (counts.get(drawn) ?? 0) + 1);
    }
    // Weights 0.8 and 0.2 (the unproven prior): shares 0.8 and 0.2; a provider scored below a fresh key checks nobody.
    assert.ok(Math.abs(counts.get('proven')! / 10_000 - 0.8) < 0.02, JSON.stringify([...counts]));
    assert.ok(Math.abs(counts.get('fresh')! / 10_000 - 0.2) < 0.02, JSON.stringify([...counts]));
    assert.equal(counts.get('caught'), undefined);
  });
  it('draws among caught providers only when no other can take the check', () => {
    const random = seededRandom(3);
    const drawn = new Set(Array.from({ length: 200 }, () => drawProvider([candidate('caught', 0.05), candidate('caught-worse', 0)], random)!.id));
    assert.deepEqual(drawn, new Set(['caught', 'caught-worse']));
  });
  it('draws nothing from no candidates', () => assert.equal(drawProvider([], Math.random), undefined));
});
