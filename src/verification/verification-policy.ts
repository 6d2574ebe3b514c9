// How many executions a policy starts with. Pure: the randomness is handed in.
import { VerificationPolicy } from '../protocol/index.js';
import type { RandomSource } from '../random/index.js';

/** A source of numbers in [0, 1). */
export type { RandomSource } from '../random/index.js';

/** Runs started before any comparison: k for redundant(k); 2 with probability p for sampled(p), else 1. */
export function initialRunCount(policy: VerificationPolicy, random: RandomSource): number {
  if (policy.kind === 'redundant') return policy.k;
  if (policy.kind === 'sampled') return random() < policy.p ? 2 : 1;
  return 1;
}

/** A policy as one string, for tags and logs: none, redundant:2, sampled:0.1. */
export function policyLabel(policy: VerificationPolicy): string {
  if (policy.kind === 'redundant') return `redundant:${policy.k}`;
  if (policy.kind === 'sampled') return `sampled:${policy.p}`;
  return 'none';
}

export function parsePolicyLabel(label: string): VerificationPolicy | undefined {
  const [kind, parameter] = label.split(':');
  const candidate = kind === 'redundant' ? { kind, k: Number(parameter) } : kind === 'sampled' ? { kind, p: Number(parameter) } : { kind };
  const parsed = VerificationPolicy.safeParse(candidate);
  return parsed.success ? parsed.data : undefined;
}
