// Whether two executions of the same job agree. Pure. Bit-identical outputs agree at once; otherwise the runs are
// walked token by token: the same token with log-probabilities within the tolerance agrees, and a different token
// is forgiven only at a near-tie (each run ranks the other's token within the tolerance of its own choice), after
// which the texts legitimately part ways and nothing further can be compared.
import type { TokenFingerprint } from '../protocol/index.js';
import { FINGERPRINT_LOGPROB_TOLERANCE } from './token-fingerprint.js';

export interface ComparableRun {
  outputHash: string;
  tokenIds: readonly number[];
  fingerprints?: readonly TokenFingerprint[];
}

export type RunComparison =
  | { agree: true; by: 'hash' | 'fingerprints' | 'near-tie'; atToken?: number }
  | { agree: false; reason: string; atToken?: number };

export function compareRuns(a: ComparableRun, b: ComparableRun, tolerance = FINGERPRINT_LOGPROB_TOLERANCE): RunComparison {
  if (a.outputHash === b.outputHash && sameTokens(a.tokenIds, b.tokenIds)) return { agree: true, by: 'hash' };
  const fa = a.fingerprints;
  const fb = b.fingerprints;
  if (!fa || !fb) return { agree: false, reason: 'the outputs differ and there are no fingerprints to compare' };
  if (!sameTokens(fa.map((f) => f.token), a.tokenIds) || !sameTokens(fb.map((f) => f.token), b.tokenIds)) {
    return { agree: false, reason: "a run's fingerprints do not match its own tokens" };
  }
  // Identical tokens decode to identical text: a different text with the same tokens is a forged output.
  if (sameTokens(a.tokenIds, b.tokenIds)) {
    const drift = firstLogprobDrift(fa, fb, tolerance);
    if (drift !== undefined) return { agree: false, reason: `log-probabilities differ beyond ${tolerance} at token ${drift}`, atToken: drift };
    return a.outputHash === b.outputHash ? { agree: true, by: 'fingerprints' } : { agree: false, reason: 'the same tokens with a different text' };
  }
  const length = Math.min(fa.length, fb.length);
  for (let i = 0; i < length; i++) {
    const x = fa[i]!;
    const y = fb[i]!;
    if (x.token === y.token) {
      if (Math.abs(x.logprob - y.logprob) > tolerance) return { agree: false, reason: `log-probabilities differ beyond ${tolerance} at token ${i}`, atToken: i };
      continue;
    }
    return nearTie(x, y, tolerance) ? { agree: true, by: 'near-tie', atToken: i } : { agree: false, reason: `different token at ${i} without a near-tie`, atToken: i };
  }
  return { agree: false, reason: `one run stops at token ${length} where the other goes on`, atToken: length };
}

function sameTokens(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((token, i) => token === b[i]);
}

function firstLogprobDrift(a: readonly TokenFingerprint[], b: readonly TokenFingerprint[], tolerance: number): number | undefined {
  const index = a.findIndex((x, i) => Math.abs(x.logprob - b[i]!.logprob) > tolerance);
  return index < 0 ? undefined : index;
}

/** Each run has the other's token among its top candidates, no less likely than its own choice minus the tolerance. */
function nearTie(x: TokenFingerprint, y: TokenFingerprint, tolerance: number): boolean {
  const rankedBy = (f: TokenFingerprint, token: number) => f.top.find(([id]) => id === token)?.[1];
  const yInX = rankedBy(x, y.token);
  const xInY = rankedBy(y, x.token);
  return yInX !== undefined && xInY !== undefined && x.logprob - yInX <= tolerance && y.logprob - xInY <= tolerance;
}
