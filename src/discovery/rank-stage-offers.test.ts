import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { StageOffer } from './provider-record.js';
import { rankStageOffers, type StageCandidate } from './rank-stage-offers.js';

const HEAD = 'a'.repeat(64);
const OTHER_HEAD = 'b'.repeat(64);
const GiB = 2 ** 30;

function offering(peerId: string, offer: Partial<StageOffer> | undefined, extra: Partial<StageCandidate> = {}): StageCandidate {
  const stages: StageOffer | undefined = offer && { endpoint: `ws://127.0.0.1:${7430 + peerId.length}`, threads: 4, memoryBytes: 8 * GiB, maxStages: 1, sandbox: 'docker', ...offer };
  return { record: { peerId, pubkey: peerId.padEnd(64, '0'), ...(stages ? { stages } : {}) }, ...extra };
}

const order = (candidates: StageCandidate[], minMemoryBytes = 0) => rankStageOffers(candidates, { head: HEAD, minMemoryBytes }).map((ranked) => ranked.record.peerId);

describe('rankStageOffers', () => {
  const cases: Array<[string, StageCandidate[], string[], number?]> = [
    ['a provider that offers no stages is not a candidate', [offering('p1', undefined), offering('p2', {})], ['p2']],
    ['an offer open to any head (no list) is open to this head', [offering('p1', {})], ['p1']],
    ['an offer listing this head is taken; one listing only another head is not', [offering('p1', { heads: [OTHER_HEAD] }), offering('p2', { heads: [OTHER_HEAD, HEAD] })], ['p2']],
    ['too little memory for a stage leaves it out', [offering('p1', { memoryBytes: 2 * GiB }), offering('p2', { memoryBytes: 8 * GiB })], ['p2'], 4 * GiB],
    ['the nearer of two equal offers comes first', [offering('far', {}, { latencyMs: 80 }), offering('near', {}, { latencyMs: 2 })], ['near', 'far']],
    ['a better-rated provider comes first at equal latency', [offering('low', {}, { reputation: 0.1, latencyMs: 5 }), offering('high', {}, { reputation: 0.9, latencyMs: 5 })], ['high', 'low']],
    ['more memory breaks an otherwise even match', [offering('small', { memoryBytes: 4 * GiB }), offering('large', { memoryBytes: 16 * GiB })], ['large', 'small']],
    ['equal offers are ordered by peer id, so every head picks the same', [offering('pb', {}), offering('pa', {})], ['pa', 'pb']],
  ];
  for (const [name, candidates, expected, minMemory] of cases) it(name, () => assert.deepEqual(order(candidates, minMemory), expected));

  it('never offers a head its own stages', () => {
    const self: StageCandidate = { record: { peerId: 'self', pubkey: HEAD, stages: { endpoint: 'ws://127.0.0.1:1', threads: 1, memoryBytes: GiB, maxStages: 1, sandbox: 'none' } } };
    assert.deepEqual(order([self, offering('p1', {})]), ['p1']);
  });
});
