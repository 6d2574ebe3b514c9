// Which connected provider gets a job: pure, so the rule is testable without sockets.
import type { JobKind, ModelRef, Price, ProviderCapabilities } from '../protocol/index.js';
import { UNPROVEN_SCORE } from '../reputation/index.js';
import { offersModel } from '../models/model-catalog.js';
import { fitsPriceCap } from '../payments/terms/pricing.js';

export interface ProviderCandidate {
  id: string;
  capabilities: ProviderCapabilities;
  /** Jobs this aggregator has running on it now. */
  activeJobs: number;
  /** In [0, 1] from src/reputation; undefined (UNPROVEN_SCORE) when nothing is known. */
  reputation?: number;
}

/** Reputation counts in steps of a tenth, so that noise in a score does not override free slots and price. */
/**
 * Reputations within a twentieth of each other count as equal, so load spreads among near-equal providers. Finer than
 * tenths: scores start from a low prior (UNPROVEN_SCORE), so one caught lie among a few checked runs moves a score by
 * less than a tenth (sampled-liar.test.ts).
 */
const REPUTATION_STEPS = 20;

export interface JobRequirements {
  model: ModelRef;
  priceCap?: Price;
  /** Absent: generate. */
  kind?: JobKind;
}

/** Whether a provider runs jobs of the kind: one that lists no kinds predates them and only generates. */
export function runsJobKind(capabilities: Pick<ProviderCapabilities, 'jobKinds'>, kind: JobKind = 'generate'): boolean {
  return (capabilities.jobKinds ?? ['generate']).includes(kind);
}

/**
 * Providers that can take the job now, best first: best reputation (in twentieths), then most free slots, then
 * cheapest, then id for a stable order. A model named by content id may also go to a provider that fetches
 * models, but only when no provider that holds it can take the job: a fetch costs minutes.
 */
export function rankProviders(all: readonly ProviderCandidate[], job: JobRequirements): ProviderCandidate[] {
  const candidates = all.filter((candidate) => runsJobKind(candidate.capabilities, job.kind));
  const holders = rankAmong(candidates.filter((candidate) => offersModel(candidate.capabilities.models, job.model)), job);
  if (holders.length || !job.model.cid) return holders;
  return rankAmong(candidates.filter((candidate) => candidate.capabilities.fetchesModels === true), job);
}

function rankAmong(candidates: readonly ProviderCandidate[], job: JobRequirements): ProviderCandidate[] {
  return candidates
    .filter((candidate) => fitsPriceCap(candidate.capabilities.price, job.priceCap))
    .filter((candidate) => candidate.capabilities.slots - candidate.activeJobs > 0)
    .sort(
      (a, b) =>
        reputationStep(b) - reputationStep(a) ||
        b.capabilities.slots - b.activeJobs - (a.capabilities.slots - a.activeJobs) ||
        Number(a.capabilities.price?.amount ?? 0) - Number(b.capabilities.price?.amount ?? 0) ||
        a.id.localeCompare(b.id),
    );
}

function reputationStep(candidate: ProviderCandidate): number {
  return Math.round((candidate.reputation ?? UNPROVEN_SCORE) * REPUTATION_STEPS);
}

/**
 * One of the ranked candidates drawn at random, weighted by reputation: how the provider of a check is chosen.
 * Neither the client nor a provider can steer the draw; a provider with standing is drawn more often than a fresh
 * key, which must earn it through checked work (threat model, attacks 3 and 10). A provider scored below a fresh
 * key (one caught lying) checks nobody while another can. `random` gives numbers in [0, 1).
 */
export function drawProvider<T extends ProviderCandidate>(ranked: readonly T[], random: () => number): T | undefined {
  const standing = ranked.filter((candidate) => (candidate.reputation ?? UNPROVEN_SCORE) >= UNPROVEN_SCORE);
  const pool = standing.length ? standing : ranked;
  const weights = pool.map((candidate) => Math.max(candidate.reputation ?? UNPROVEN_SCORE, MIN_DRAW_WEIGHT));
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  let point = random() * total;
  for (const [i, weight] of weights.entries()) {
    point -= weight;
    if (point < 0) return pool[i];
  }
  return pool.at(-1);
}

/** Among providers all caught, one scored 0 keeps a small chance. */
const MIN_DRAW_WEIGHT = 0.01;
