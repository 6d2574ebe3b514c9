import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { apportion, chooseSteal, planShards } from './shard-plan.js';

const range = (n: number) => Array.from({ length: n }, (_, index) => index);

describe('planShards', () => {
  it('gives each provider a contiguous share in proportion to free slots times measured speed', () => {
    const shards = planShards(range(100), [
      { id: 'fast', freeSlots: 1, requestsPerSecond: 30 },
      { id: 'slow', freeSlots: 1, requestsPerSecond: 10 },
      { id: 'wide', freeSlots: 2, requestsPerSecond: 10 },
    ]);
    assert.deepEqual(shards.map((shard) => [shard.provider, shard.indices.length]), [['fast', 50], ['slow', 17], ['wide', 33]]);
    assert.deepEqual(shards.flatMap((shard) => shard.indices), range(100), 'every request once, in input order');
  });

  it('counts a provider not measured yet at the median measured speed', () => {
    const shards = planShards(range(90), [
      { id: 'a', freeSlots: 1, requestsPerSecond: 20 },
      { id: 'new', freeSlots: 1 },
      { id: 'b', freeSlots: 1, requestsPerSecond: 40 },
    ]);
    // median of [20, 40] is 40 (upper median): 20 : 40 : 40
    assert.deepEqual(shards.map((shard) => shard.indices.length), [18, 36, 36]);
  });

  it('splits equally by slots when nothing is measured, and skips providers without free slots', () => {
    const shards = planShards(range(10), [
      { id: 'a', freeSlots: 1 },
      { id: 'full', freeSlots: 0 },
      { id: 'b', freeSlots: 1 },
    ]);
    assert.deepEqual(shards.map((shard) => [shard.provider, shard.indices]), [['a', [0, 1, 2, 3, 4]], ['b', [5, 6, 7, 8, 9]]]);
  });

  it('plans nothing without requests or providers', () => {
    assert.deepEqual(planShards([], [{ id: 'a', freeSlots: 1 }]), []);
    assert.deepEqual(planShards([1, 2], []), []);
  });

  it('keeps non-contiguous pending indices (a resumed batch) in order', () => {
    const shards = planShards([3, 7, 8, 20], [{ id: 'a', freeSlots: 1 }, { id: 'b', freeSlots: 1 }]);
    assert.deepEqual(shards.map((shard) => shard.indices), [[3, 7], [8, 20]]);
  });
});

describe('apportion', () => {
  it('always adds up to the total (largest remainders)', () => {
    for (const [total, weights] of [[7, [1, 1, 1]], [1, [5, 5]], [1000, [0.3, 0.3, 0.4]], [3, [1, 0, 0]]] as const) {
      assert.equal(apportion(total, weights).reduce((a, b) => a + b, 0), total);
    }
    assert.deepEqual(apportion(7, [1, 1, 1]), [3, 2, 2]);
  });
});

describe('chooseSteal (work stealing)', () => {
  it('takes from the queue that would finish last, as much as makes both finish together', () => {
    const decision = chooseSteal(
      [
        { shardId: 's1', provider: 'a', queued: range(40), capacity: 20 }, // 2 s left
        { shardId: 's2', provider: 'b', queued: range(30), capacity: 5 }, // 6 s left
      ],
      10,
      'thief',
    );
    // b has 30 left at 5/s, the thief does 10/s: the thief takes 2/3 of it, both end in 2 s.
    assert.deepEqual(decision, { shardId: 's2', take: 20 });
  });

  it('halves the queue between equally fast providers', () => {
    assert.deepEqual(chooseSteal([{ shardId: 's1', provider: 'a', queued: range(9), capacity: 10 }], 10, 'b'), { shardId: 's1', take: 4 });
  });

  it('never steals from its own shards, nor an empty queue', () => {
    assert.equal(chooseSteal([{ shardId: 's1', provider: 'me', queued: range(9), capacity: 1 }], 10, 'me'), undefined);
    assert.equal(chooseSteal([{ shardId: 's1', provider: 'a', queued: [], capacity: 1 }], 10, 'b'), undefined);
  });

  it('takes a last single request only from a clearly slower provider', () => {
    assert.equal(chooseSteal([{ shardId: 's1', provider: 'a', queued: [5], capacity: 10 }], 10, 'b'), undefined);
    assert.deepEqual(chooseSteal([{ shardId: 's1', provider: 'a', queued: [5], capacity: 2 }], 10, 'b'), { shardId: 's1', take: 1 });
  });
});
