// What a job's payment should become, from its verification verdict or, without verification, from the state
// the job ended in. Pure: the settlement service persists the answer before acting on it.
import type { JobState } from '../../jobs/state-machine.js';
import type { VerificationVerdict } from '../../verification/verification-outcome.js';
import type { SettlementAction } from '../ledger/payment-ledger.js';

/** Pay a run unless it was found wrong: 'unchecked' and 'inconclusive' runs blame nobody and are paid. */
export function settlementForVerdict(verdict: VerificationVerdict): SettlementAction {
  return verdict === 'failed' ? 'refund' : 'release';
}

/**
 * For a job that ended without a verification outcome: completed (its signed result checked by the aggregator)
 * is paid; failed or cancelled is refunded; anything else is not finished and settles nothing yet.
 */
export function settlementForJobState(state: JobState): SettlementAction | undefined {
  if (state === 'completed') return 'release';
  if (state === 'failed' || state === 'cancelled') return 'refund';
  return undefined;
}

/** The job state that records a carried-out settlement, where the state machine allows it. */
export function jobStateAfter(action: SettlementAction): JobState {
  return action === 'release' ? 'settled' : 'refunded';
}
