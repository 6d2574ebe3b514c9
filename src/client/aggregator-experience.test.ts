import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AggregatorAttempt, JobRecord } from '../jobs/index.js';
import { aggregatorExperienceOf, aggregatorReputation, experiencedReputation } from './aggregator-experience.js';
import { rankAggregators } from './rank-aggregators.js';

const A = 'aa'.repeat(32);
const B = 'bb'.repeat(32);

function clientJob(...attempts: AggregatorAttempt[]): JobRecord {
  return { jobId: crypto.randomUUID(), role: 'client', state: 'completed', model: 'm', aggregatorAttempts: attempts, createdAt: 0, updatedAt: 0 };
}
const at = (pubkey: string, outcome: AggregatorAttempt['outcome']): AggregatorAttempt => ({ endpoint: `ws://${pubkey.slice(0, 2)}`, pubkey, outcome });

describe("a client's experience of aggregators", () => {
  it('counts completed against lost and unreachable attempts per key; refusals and other roles count for nothing', () => {
    const experience = aggregatorExperienceOf([
      clientJob(at(A, 'lost'), at(B, 'completed')),
      clientJob(at(B, 'completed')),
      clientJob(at(A, 'unreachable'), at(B, 'refused')),
      clientJob({ endpoint: 'ws://configured', outcome: 'completed' }),
      { ...clientJob(at(B, 'lost')), role: 'aggregator' },
    ]);
    assert.deepEqual(Object.fromEntries(experience), {
      [A]: { completed: 0, failed: 2 },
      [B]: { completed: 2, failed: 0 },
      'ws://configured': { completed: 1, failed: 0 },
    });
  });

  const table: Array<[string, { completed: number; failed: number } | undefined, number | undefined, number]> = [
    ['nothing known: neutral', undefined, undefined, 0.5],
    ["no attempts of its own: the network's score", undefined, 0.9, 0.9],
    ['one loss against a neutral prior', { completed: 0, failed: 1 }, undefined, 1 / 3],
    ['one completion against a neutral prior', { completed: 1, failed: 0 }, undefined, 2 / 3],
    ["the client's own losses outweigh a good network score", { completed: 0, failed: 6 }, 0.9, 1.8 / 8],
    ['many completions', { completed: 18, failed: 0 }, 0.5, 19 / 20],
  ];
  for (const [name, experience, network, expected] of table) {
    it(`scores ${name}`, () => {
      assert.ok(Math.abs(experiencedReputation(experience, network) - expected) < 1e-9, `${experiencedReputation(experience, network)} != ${expected}`);
    });
  }

  it('ranks the aggregator that lost a job below the one that finished it, other things equal', () => {
    const reputationOf = aggregatorReputation([clientJob(at(A, 'lost'), at(B, 'completed'))]);
    const candidate = (pubkey: string) => ({ endpoint: `ws://${pubkey.slice(0, 2)}`, pubkey, models: ['m'], latencyMs: 1, feeBps: 0, reputation: reputationOf(pubkey), source: 'discovery' as const });
    assert.deepEqual(rankAggregators([candidate(A), candidate(B)], { model: 'm' }).map((ranked) => ranked.pubkey), [B, A]);
  });
});
