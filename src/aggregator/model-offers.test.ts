import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mergeModelOffers } from './model-offers.js';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);

describe('the models an aggregator lists', () => {
  it('lists each name once, keeping the size and digest that every provider serving it reports', () => {
    const merged = mergeModelOffers([
      [{ name: 'llama', sha256: A, sizeBytes: 10 }, { name: 'tiny', sha256: B, sizeBytes: 2 }],
      [{ name: 'llama', sha256: A, sizeBytes: 10 }],
    ]);
    assert.deepEqual(merged, [{ name: 'llama', sha256: A, sizeBytes: 10 }, { name: 'tiny', sha256: B, sizeBytes: 2 }]);
  });

  it("drops them where providers disagree (another file under the name, or a provider's lie), and where one says nothing", () => {
    assert.deepEqual(mergeModelOffers([[{ name: 'llama', sha256: A, sizeBytes: 10 }], [{ name: 'llama', sha256: B, sizeBytes: 10 }]]), [{ name: 'llama', sizeBytes: 10 }]);
    assert.deepEqual(mergeModelOffers([[{ name: 'llama', sha256: A, sizeBytes: 10 }], [{ name: 'llama' }]]), [{ name: 'llama' }]);
    assert.deepEqual(mergeModelOffers([[{ name: 'llama' }], [{ name: 'llama', sha256: A }]]), [{ name: 'llama' }]);
  });
});
