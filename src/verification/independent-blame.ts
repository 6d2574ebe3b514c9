// Whom a verdict may blame. A run is failed only when two checks, whose providers the aggregator drew at random
// (job.request.checkOf), agree with each other and each disagree with it. A client that runs sybil providers then
// frames an honest provider only when the aggregator's draw lands on its sybils twice; the primary, whose provider
// the client may name, never counts against another run. Pure: the client applies it before it sends a verdict, and
// the aggregator again, on the fingerprints the client sends, before it fails a run.
import { compareRuns, type ComparableRun } from './compare-runs.js';
import type { VerificationVerdict } from './verification-outcome.js';

export interface JudgedRun extends ComparableRun {
  /** A check: matched by the aggregator's random draw, not by the client's choice. */
  drawn: boolean;
}

/** Whether two drawn runs (checks) other than runs[blamed] agree with each other and each disagree with it. */
export function blameIsIndependent(runs: readonly JudgedRun[], blamed: number): boolean {
  const suspect = runs[blamed]!;
  const against = runs.flatMap((run, i) => (i !== blamed && run.drawn && !compareRuns(suspect, run).agree ? [i] : []));
  return against.some((a, x) => against.slice(x + 1).some((b) => compareRuns(runs[a]!, runs[b]!).agree));
}

/** The verdicts, with each failed run that no independent pair outvotes downgraded to inconclusive (not blamed, not cleared). */
export function independentVerdicts(runs: readonly JudgedRun[], verdicts: readonly VerificationVerdict[]): VerificationVerdict[] {
  return verdicts.map((verdict, i) => (verdict === 'failed' && !blameIsIndependent(runs, i) ? 'inconclusive' : verdict));
}
