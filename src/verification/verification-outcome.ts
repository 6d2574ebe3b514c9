// The typed result of verifying one run of a job: what payments settle on and what reputation records.
import type { Price, VerificationPolicy } from '../protocol/index.js';

export type VerificationVerdict = 'verified' | 'failed' | 'unchecked' | 'inconclusive';

export interface VerificationOutcome {
  /** The client's job this run belongs to (the primary run's job id). */
  jobId: string;
  /** This run's job id; equal to jobId for the primary run. */
  runJobId: string;
  /** Hex public key of the provider that ran it. */
  provider: string;
  /** Hex public key of the client. */
  client: string;
  /** The model's network name. */
  model: string;
  verdict: VerificationVerdict;
  policy: VerificationPolicy;
  /** sha256 of the output, from the provider's signed result. */
  outputHash: string;
  resultEventId: string;
  price?: Price;
  tokens: number;
  /** Unix milliseconds when decided. */
  at: number;
}

export type VerificationListener = (outcome: VerificationOutcome) => void;
