// A provider's reputation from the outcome events this node holds. Pure: events in, scores out.
//
// Each rating weighs: the rater's standing x the job's value x a decay with age x the outcome's weight. Standing
// starts at this node itself and the raters its operator trusts (1 each); any other key earns standing only as a
// provider with a good record of checked work (verified runs, never merely completed ones) among raters that
// already have it (a few rounds of propagation). So a swarm of fresh identities praising each other has no standing
// and moves nothing, however many events it signs; and one rater's say about one provider is capped, so even a
// trusted rater cannot drown the others.
//
// A key without evidence scores UNPROVEN_SCORE, the mean of a low prior, not a neutral half: a provider caught
// lying gains nothing by taking a new key (whitewashing), since the new key starts below any provider whose
// checked work outweighs its caught lies (verified weight over a quarter of the failed weight).
import type { JobOutcomeKind, JobRating } from './reputation-event.js';

export interface ReputationScoringOptions {
  /** This node's key: its own observations carry full standing. */
  self: string;
  /** Raters the operator trusts outright (other aggregators it knows). */
  trusted: readonly string[];
  /** Unix milliseconds. */
  now: number;
  /** A rating loses half its weight every this many milliseconds. Default 30 days. */
  halfLifeMs?: number;
}

export interface ProviderReputation {
  /** In [0, 1]; UNPROVEN_SCORE without evidence. */
  score: number;
  /** Weighted good and bad evidence behind the score. */
  positive: number;
  negative: number;
  /** The part of `positive` from checked (verified) runs: the only good evidence that earns standing. */
  checked: number;
  ratings: number;
  /** The weight this key carries as a rater, in [0, 1]. */
  standing: number;
}

/**
 * The prior every key starts from, as pseudo-evidence: one good run against four bad, so a key without evidence
 * scores 0.2 and climbs above that only through good evidence from raters with standing.
 */
export const UNPROVEN_PRIOR = { positive: 1, negative: 4 } as const;
export const UNPROVEN_SCORE = UNPROVEN_PRIOR.positive / (UNPROVEN_PRIOR.positive + UNPROVEN_PRIOR.negative);
export const DEFAULT_HALF_LIFE_MS = 30 * 24 * 60 * 60 * 1000;
/**
 * A wrong result caught costs as much as ten verified ones earn: under sampled(0.1) only one lie in ten is caught,
 * so a caught lie must outweigh the ten it stands for, or lying would pay on average.
 */
export const OUTCOME_WEIGHTS: Record<JobOutcomeKind, { positive: number; negative: number }> = {
  verified: { positive: 1, negative: 0 },
  completed: { positive: 0.25, negative: 0 },
  failed: { positive: 0, negative: 10 },
  inconclusive: { positive: 0, negative: 0 },
};
/** Value (in currency units) at which a job weighs about two thirds of the most; free jobs weigh a quarter. */
export const VALUE_SCALE = 0.01;
const MIN_VALUE_WEIGHT = 0.25;
/** Most weight one rater's ratings can add to one provider's evidence, good or bad each. */
export const MAX_WEIGHT_PER_RATER = 25;
/** Evidence at which a provider's standing as a rater reaches half of what its score allows. */
const STANDING_HALF_EVIDENCE = 10;
const STANDING_ROUNDS = 3;

export function valueWeight(value: number): number {
  const v = Number.isFinite(value) && value > 0 ? value : 0;
  return MIN_VALUE_WEIGHT + (1 - MIN_VALUE_WEIGHT) * (1 - Math.exp(-v / VALUE_SCALE));
}

export function decayWeight(ageMs: number, halfLifeMs = DEFAULT_HALF_LIFE_MS): number {
  return Math.pow(0.5, Math.max(0, ageMs) / halfLifeMs);
}

/** Scores every provider the ratings mention. One rating per (rater, provider, job): the newest counts. */
export function scoreProviders(ratings: readonly JobRating[], options: ReputationScoringOptions): Map<string, ProviderReputation> {
  const latest = newestPerJob(ratings);
  const anchors = new Set([options.self, ...options.trusted]);
  let standing = new Map<string, number>([...anchors].map((key) => [key, 1]));
  let scores = new Map<string, ProviderReputation>();
  for (let round = 0; round < STANDING_ROUNDS; round++) {
    scores = evidenceOf(latest, standing, options);
    const next = new Map<string, number>([...anchors].map((key) => [key, 1]));
    for (const [key, reputation] of scores) if (!anchors.has(key)) next.set(key, earnedStanding(reputation));
    standing = next;
  }
  for (const [key, reputation] of scores) reputation.standing = standing.get(key) ?? 0;
  return scores;
}

/** A provider with a good record among those with standing may vouch for others, in proportion to both. */
function earnedStanding(reputation: ProviderReputation): number {
  const evidence = reputation.checked + reputation.negative;
  return Math.max(0, 2 * posteriorMean(reputation.checked, reputation.negative) - 1) * (evidence / (evidence + STANDING_HALF_EVIDENCE));
}

function posteriorMean(positive: number, negative: number): number {
  return (UNPROVEN_PRIOR.positive + positive) / (UNPROVEN_PRIOR.positive + UNPROVEN_PRIOR.negative + positive + negative);
}

function evidenceOf(ratings: readonly JobRating[], standing: ReadonlyMap<string, number>, options: ReputationScoringOptions): Map<string, ProviderReputation> {
  const perRater = new Map<string, { positive: number; negative: number; checked: number; count: number }>();
  for (const rating of ratings) {
    const weight = (standing.get(rating.rater) ?? 0) * valueWeight(rating.value) * decayWeight(options.now - rating.createdAt, options.halfLifeMs);
    if (weight <= 0) continue;
    const key = `${rating.provider}\n${rating.rater}`;
    const sum = perRater.get(key) ?? { positive: 0, negative: 0, checked: 0, count: 0 };
    sum.positive += weight * OUTCOME_WEIGHTS[rating.outcome].positive;
    if (rating.outcome === 'verified') sum.checked += weight * OUTCOME_WEIGHTS.verified.positive;
    sum.negative += weight * OUTCOME_WEIGHTS[rating.outcome].negative;
    sum.count += 1;
    perRater.set(key, sum);
  }
  const scores = new Map<string, ProviderReputation>();
  for (const [key, sum] of perRater) {
    const provider = key.slice(0, key.indexOf('\n'));
    const reputation = scores.get(provider) ?? unprovenReputation();
    reputation.positive += Math.min(MAX_WEIGHT_PER_RATER, sum.positive);
    reputation.checked += Math.min(MAX_WEIGHT_PER_RATER, sum.checked);
    reputation.negative += Math.min(MAX_WEIGHT_PER_RATER, sum.negative);
    reputation.ratings += sum.count;
    scores.set(provider, reputation);
  }
  // A Beta(1, 4) prior: no evidence is UNPROVEN_SCORE, and a few ratings move it less than many.
  for (const reputation of scores.values()) reputation.score = posteriorMean(reputation.positive, reputation.negative);
  return scores;
}

/** What is known of a key nothing with standing has rated. */
export function unprovenReputation(): ProviderReputation {
  return { score: UNPROVEN_SCORE, positive: 0, negative: 0, checked: 0, ratings: 0, standing: 0 };
}

function newestPerJob(ratings: readonly JobRating[]): JobRating[] {
  const newest = new Map<string, JobRating>();
  for (const rating of ratings) {
    const key = `${rating.rater}\n${rating.provider}\n${rating.jobId}`;
    const kept = newest.get(key);
    if (!kept || rating.createdAt > kept.createdAt || (rating.createdAt === kept.createdAt && rating.eventId > kept.eventId)) newest.set(key, rating);
  }
  return [...newest.values()];
}
