// Which ratings a node keeps, in memory and in its store: bounded in all, bounded per rater without standing, and
// when over the bound the ratings of the raters with the least standing go first (the oldest among equals). Age
// alone decided before, so a flood of fresh ratings pushed out the ones this node and its trusted raters signed.
// Pure: ratings and standings in, what to drop out.

/** Ratings a node keeps at most, in memory and in its store. */
export const MAX_RATINGS = 50_000;
/** Ratings kept from one rater without standing: enough to matter once it earns standing, too few to flood. */
export const MAX_RATINGS_PER_UNPROVEN_RATER = 32;
/** Past the bound, this share more is dropped at once, so the sort below runs once per many ratings, not each. */
export const EVICTION_SLACK = 0.01;

export interface HeldRating {
  eventId: string;
  rater: string;
  createdAt: number;
}

export interface RetentionLimits {
  maxRatings: number;
  maxPerUnprovenRater: number;
}

export const DEFAULT_RETENTION: RetentionLimits = { maxRatings: MAX_RATINGS, maxPerUnprovenRater: MAX_RATINGS_PER_UNPROVEN_RATER };

/** Whether one more rating of a rater that already has `held` kept here is kept: always for one with standing. */
export function admitsRating(held: number, raterStanding: number, limits: RetentionLimits = DEFAULT_RETENTION): boolean {
  return raterStanding > 0 || held < limits.maxPerUnprovenRater;
}

/** How many ratings remain after an eviction pass over `limit`: the slack below it. */
export function retainedAfterEviction(limit: number): number {
  return Math.max(0, limit - Math.ceil(limit * EVICTION_SLACK));
}

/**
 * The event ids to drop so that `keep` ratings remain: those whose raters have the least standing first, then the
 * oldest, then by id (a stable order). None while at most `keep` are held.
 */
export function ratingsToEvict(ratings: readonly HeldRating[], standingOf: (rater: string) => number, keep: number): string[] {
  const excess = ratings.length - Math.max(0, keep);
  if (excess <= 0) return [];
  const standing = new Map<string, number>();
  const ranked = ratings.map((rating) => {
    let value = standing.get(rating.rater);
    if (value === undefined) standing.set(rating.rater, (value = standingOf(rating.rater)));
    return { rating, standing: value };
  });
  ranked.sort((a, b) => a.standing - b.standing || a.rating.createdAt - b.rating.createdAt || (a.rating.eventId < b.rating.eventId ? -1 : a.rating.eventId > b.rating.eventId ? 1 : 0));
  return ranked.slice(0, excess).map((entry) => entry.rating.eventId);
}
