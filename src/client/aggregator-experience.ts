// An aggregator's standing as this client knows it: how its own jobs went there (the attempts its job records keep),
// weighed against what the network says of the aggregator's key. Only the client's own experience counts: an
// aggregator losing a job leaves no signed evidence a stranger could check, so ratings of aggregators are not taken
// from others (anyone could slander one), and one's own cannot be forged by anybody else. Pure.
import type { AggregatorAttempt, JobRecord } from '../jobs/index.js';
import { NEUTRAL_REPUTATION } from '../discovery/index.js';

/** How many of the client's recent jobs are read for its experience of aggregators. */
export const EXPERIENCE_JOBS = 200;
/**
 * The prior's weight, in attempts: with none of its own, the client goes by the network's score; each attempt of
 * its own moves the score towards what it saw, and after a handful its own experience dominates.
 */
export const PRIOR_ATTEMPTS = 2;

export interface AggregatorExperience {
  completed: number;
  /** Lost mid-job or unreachable. */
  failed: number;
}

/** Per aggregator key (or endpoint, for one whose key was never learned), what the client's jobs saw there. */
export function aggregatorExperienceOf(jobs: readonly JobRecord[]): Map<string, AggregatorExperience> {
  const experience = new Map<string, AggregatorExperience>();
  for (const job of jobs) {
    if (job.role !== 'client') continue;
    for (const attempt of job.aggregatorAttempts ?? []) {
      if (attempt.outcome === 'refused') continue;
      const key = experienceKey(attempt);
      const seen = experience.get(key) ?? { completed: 0, failed: 0 };
      if (attempt.outcome === 'completed') seen.completed += 1;
      else seen.failed += 1;
      experience.set(key, seen);
    }
  }
  return experience;
}

export function experienceKey(aggregator: Pick<AggregatorAttempt, 'endpoint' | 'pubkey'>): string {
  return aggregator.pubkey ?? aggregator.endpoint;
}

/** The mean of a Beta posterior: the network's score as a prior worth PRIOR_ATTEMPTS attempts, then the client's own. */
export function experiencedReputation(experience: AggregatorExperience | undefined, networkScore: number | undefined): number {
  const prior = networkScore ?? NEUTRAL_REPUTATION;
  if (!experience) return prior;
  return (experience.completed + PRIOR_ATTEMPTS * prior) / (experience.completed + experience.failed + PRIOR_ATTEMPTS);
}

/** reputationOf for ranking aggregators: the client's experience over the network's score. */
export function aggregatorReputation(jobs: readonly JobRecord[], networkScoreOf?: (pubkey: string) => number | undefined): (pubkey: string) => number {
  const experience = aggregatorExperienceOf(jobs);
  return (pubkey) => experiencedReputation(experience.get(pubkey), networkScoreOf?.(pubkey));
}
