// Which connected provider gets a job: pure, so the rule is testable without sockets.
import type { ModelRef, Price, ProviderCapabilities } from '../protocol/index.js';
import { offersModel } from './model-catalog.js';
import { fitsPriceCap } from './pricing.js';

export interface ProviderCandidate {
  id: string;
  capabilities: ProviderCapabilities;
  /** Jobs this aggregator has running on it now. */
  activeJobs: number;
}

export interface JobRequirements {
  model: ModelRef;
  priceCap?: Price;
}

/** Providers that can take the job now, best first: most free slots, then cheapest, then id for a stable order. */
export function rankProviders(candidates: readonly ProviderCandidate[], job: JobRequirements): ProviderCandidate[] {
  return candidates
    .filter((candidate) => offersModel(candidate.capabilities.models, job.model))
    .filter((candidate) => fitsPriceCap(candidate.capabilities.price, job.priceCap))
    .filter((candidate) => candidate.capabilities.slots - candidate.activeJobs > 0)
    .sort(
      (a, b) =>
        b.capabilities.slots - b.activeJobs - (a.capabilities.slots - a.activeJobs) ||
        Number(a.capabilities.price?.amount ?? 0) - Number(b.capabilities.price?.amount ?? 0) ||
        a.id.localeCompare(b.id),
    );
}
