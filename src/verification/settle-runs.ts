// From the executions of one job to a verdict per execution. Pure. Runs that agree form a group; a group holding a
// strict majority of the runs is right and every run outside it is wrong. Without a majority the job needs a
// further execution, and when none may be started any more nobody is blamed.
import { compareRuns, type ComparableRun } from './compare-runs.js';
import type { VerificationVerdict } from './verification-outcome.js';

export interface SettledRuns {
  /** One per run, in the order given; undefined while another run is needed. */
  verdicts: VerificationVerdict[] | undefined;
  needsAnotherRun: boolean;
  /** The index of a run in the winning group (its output is the job's answer), when there is one. */
  winner?: number;
}

export function settleRuns(runs: readonly ComparableRun[], maxRuns: number): SettledRuns {
  if (runs.length === 0) throw new Error('settleRuns needs at least one run');
  if (runs.length === 1) return { verdicts: ['unchecked'], needsAnotherRun: false, winner: 0 };
  const groups = groupAgreeingRuns(runs);
  const largest = groups.reduce((best, group) => (group.length > best.length ? group : best), groups[0]!);
  if (largest.length * 2 > runs.length) {
    const winners = new Set(largest);
    return { verdicts: runs.map((_, i) => (winners.has(i) ? 'verified' : 'failed')), needsAnotherRun: false, winner: largest[0]! };
  }
  if (runs.length < maxRuns) return { verdicts: undefined, needsAnotherRun: true };
  return { verdicts: runs.map(() => 'inconclusive'), needsAnotherRun: false };
}

/** Each run joins the first group whose first run it agrees with. */
function groupAgreeingRuns(runs: readonly ComparableRun[]): number[][] {
  const groups: number[][] = [];
  runs.forEach((run, index) => {
    const group = groups.find((members) => compareRuns(runs[members[0]!]!, run).agree);
    if (group) group.push(index);
    else groups.push([index]);
  });
  return groups;
}
