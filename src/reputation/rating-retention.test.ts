import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { admitsRating, DEFAULT_RETENTION, MAX_RATINGS, ratingsToEvict, retainedAfterEviction, type HeldRating } from './rating-retention.js';

const held = (eventId: string, rater: string, createdAt: number): HeldRating => ({ eventId, rater, createdAt });

describe('admitsRating', () => {
  const cases: Array<[string, number, number, boolean]> = [
    ['a rater with standing, however many it has', 10_000, 0.3, true],
    ['a rater without standing, under its bound', DEFAULT_RETENTION.maxPerUnprovenRater - 1, 0, true],
    ['a rater without standing, at its bound', DEFAULT_RETENTION.maxPerUnprovenRater, 0, false],
  ];
  for (const [what, count, standing, admitted] of cases) it(`${admitted ? 'keeps' : 'refuses'} ${what}`, () => assert.equal(admitsRating(count, standing), admitted));
});

describe('ratingsToEvict', () => {
  it('drops nothing while under the bound', () => assert.deepEqual(ratingsToEvict([held('a', 'x', 1)], () => 0, 1), []));

  it('drops the ratings of the least standing first, the oldest among equals, whatever their age', () => {
    const ratings = [held('anchored-old', 'self', 1), held('fresh-new', 'f1', 9), held('fresh-old', 'f2', 2), held('earned', 'p', 3)];
    const standing: Record<string, number> = { self: 1, p: 0.4 };
    assert.deepEqual(ratingsToEvict(ratings, (rater) => standing[rater] ?? 0, 2), ['fresh-old', 'fresh-new']);
    assert.deepEqual(ratingsToEvict(ratings, (rater) => standing[rater] ?? 0, 1), ['fresh-old', 'fresh-new', 'earned']);
  });

  it(`keeps every anchored rating through a flood of 60,000 newer ratings from fresh keys at the default bound (${MAX_RATINGS})`, () => {
    const anchored = Array.from({ length: 500 }, (_, i) => held(`anchored-${i}`, i % 2 ? 'self' : 'trusted', i));
    const flood = Array.from({ length: 60_000 }, (_, i) => held(`flood-${i}`, `fresh-${i}`, 1_000_000 + i));
    const keep = retainedAfterEviction(MAX_RATINGS);
    const evicted = new Set(ratingsToEvict([...anchored, ...flood], (rater) => (rater === 'self' || rater === 'trusted' ? 1 : 0), keep));
    assert.equal(anchored.length + flood.length - evicted.size, keep);
    assert.ok(anchored.every((rating) => !evicted.has(rating.eventId)), 'no anchored rating evicted');
  });
});
