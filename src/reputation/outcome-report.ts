// From a verification outcome (src/verification) to the outcome event's content: pure.
import type { Price } from '../protocol/index.js';
import type { VerificationOutcome } from '../verification/verification-outcome.js';
import { policyLabel } from '../verification/verification-policy.js';
import type { JobOutcomeKind, JobOutcomeReport } from './reputation-event.js';

const KIND_OF_VERDICT: Record<VerificationOutcome['verdict'], JobOutcomeKind> = {
  verified: 'verified',
  failed: 'failed',
  unchecked: 'completed',
  inconclusive: 'inconclusive',
};

/** What the job paid at the provider's price: per job, or per thousand tokens. */
export function jobValueOf(price: Price | undefined, tokens: number): { amount: string; currency: string } | undefined {
  if (!price) return undefined;
  const amount = price.per === 'job' ? Number(price.amount) : (Number(price.amount) * tokens) / 1000;
  if (!Number.isFinite(amount) || amount <= 0) return undefined;
  return { amount: amount.toFixed(9).replace(/\.?0+$/, ''), currency: price.currency };
}

export function outcomeReportOf(outcome: VerificationOutcome): JobOutcomeReport {
  const value = jobValueOf(outcome.price, outcome.tokens);
  return {
    provider: outcome.provider,
    jobId: outcome.runJobId,
    resultEventId: outcome.resultEventId,
    outcome: KIND_OF_VERDICT[outcome.verdict],
    policy: policyLabel(outcome.policy),
    model: outcome.model,
    ...(outcome.outputHash ? { outputHash: outcome.outputHash } : {}),
    ...(value ? { value } : {}),
    ...(outcome.verdict === 'failed' ? { reason: 'output outvoted by a further execution' } : {}),
  };
}
