import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rankAggregators, scoreAggregator, type AggregatorCandidate } from './rank-aggregators.js';

const base = (endpoint: string, extra: Partial<AggregatorCandidate> = {}): AggregatorCandidate => ({ endpoint, models: ['stories260K'], source: 'discovery', latencyMs: 5, feeBps: 500, ...extra });

describe('rankAggregators', () => {
  const table: Array<{ name: string; candidates: AggregatorCandidate[]; model?: string; order: string[] }> = [
    { name: 'the lower fee wins when all else is equal', candidates: [base('ws://a', { feeBps: 500 }), base('ws://b', { feeBps: 100 })], order: ['ws://b', 'ws://a'] },
    { name: 'the shorter round trip wins when all else is equal', candidates: [base('ws://a', { latencyMs: 300 }), base('ws://b', { latencyMs: 2 })], order: ['ws://b', 'ws://a'] },
    { name: 'an aggregator that answered no ping ranks below one that did', candidates: [base('ws://a', { latencyMs: undefined }), base('ws://b', { latencyMs: 400 })], order: ['ws://b', 'ws://a'] },
    { name: 'a trusted aggregator beats a cheaper, faster one with a bad reputation', candidates: [base('ws://a', { reputation: 0.1, feeBps: 0, latencyMs: 1 }), base('ws://b', { reputation: 0.95, feeBps: 1000, latencyMs: 40 })], order: ['ws://b', 'ws://a'] },
    { name: 'one routing the model comes first, however good the other', candidates: [base('ws://a', { models: [], reputation: 1, feeBps: 0 }), base('ws://b', { reputation: 0.3 })], model: 'stories260K', order: ['ws://b', 'ws://a'] },
    { name: 'without a model, what each routes does not matter', candidates: [base('ws://a', { models: [], feeBps: 0 }), base('ws://b', { feeBps: 900 })], order: ['ws://a', 'ws://b'] },
    { name: 'ties are broken by endpoint, for a stable order', candidates: [base('ws://b'), base('ws://a')], order: ['ws://a', 'ws://b'] },
  ];
  for (const row of table) {
    it(row.name, () => {
      const ranked = rankAggregators(row.candidates, row.model === undefined ? {} : { model: row.model });
      assert.deepEqual(ranked.map((candidate) => candidate.endpoint), row.order);
    });
  }

  it('scores each part in [0, 1], a fee at the record\'s bound as 0', () => {
    assert.deepEqual(scoreAggregator(base('ws://a', { feeBps: 5000, latencyMs: 0, reputation: 1 })), { reputation: 1, latency: 1, fee: 0 });
    const unknown = scoreAggregator({ endpoint: 'ws://c', models: [], source: 'config' });
    assert.equal(unknown.reputation, 0.5);
    assert.equal(unknown.fee, 0.5);
  });

  it('keeps every candidate: the tail is where a job fails over to', () => {
    assert.equal(rankAggregators([base('ws://a', { models: [] }), base('ws://b'), base('ws://c')], { model: 'other' }).length, 3);
  });
});
