// Per-token fingerprints: what two runs of one job are compared on when their outputs are not bit-identical.
import { createHash } from 'node:crypto';
import type { TokenFingerprint } from '../protocol/index.js';

export type { TokenFingerprint };

/**
 * Log-probabilities of the same token in two honest runs differ by at most this much. The same llama.cpp build
 * gives identical values; llama-server against node-llama-cpp differed by 4.4e-4 (measured); GPU kernels that sum
 * in another order differ more, so there is headroom.
 */
export const FINGERPRINT_LOGPROB_TOLERANCE = 0.05;

/** Digits kept of each logprob in the hash: enough to tell runs apart, not so many that printing changes it. */
const HASHED_LOGPROB_DIGITS = 4;

/** A short commitment to a run's fingerprints, for the signed result's tags. */
export function fingerprintHash(fingerprints: readonly TokenFingerprint[]): string {
  const canonical = fingerprints.map((f) => `${f.token}:${f.logprob.toFixed(HASHED_LOGPROB_DIGITS)}:${f.top.map(([id, lp]) => `${id}=${lp.toFixed(HASHED_LOGPROB_DIGITS)}`).join(',')}`).join(';');
  return createHash('sha256').update(canonical, 'utf8').digest('hex');
}
