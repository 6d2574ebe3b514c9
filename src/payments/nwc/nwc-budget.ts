// Per-connection spending limits, as a pure decision over what the connection has spent: at most maxPaymentSat
// for one payment, at most maxDailySat over any 24 hours (a rolling window, so no midnight doubles the budget).
import type { NwcErrorCode } from './nwc-errors.js';

export const BUDGET_WINDOW_MS = 24 * 60 * 60 * 1000;

export interface ConnectionBudget {
  maxPaymentSat: number;
  maxDailySat: number;
}

/** One payment made (or being made) through a connection; `reserved` counts until it is known to have failed. */
export interface SpendingEntry {
  requestId: string;
  pubkey: string;
  /** What counts against the budget: the amount plus the fee limit while reserved, plus the fee paid once paid. */
  sat: number;
  /** Unix milliseconds. */
  at: number;
  state: 'reserved' | 'paid' | 'failed';
  /** The invoice's hash and amount, so a payment left `reserved` by a crash can be looked up in LND after a restart. */
  paymentHash?: string;
  amountSat?: number;
}

export type BudgetDecision = { ok: true } | { ok: false; code: NwcErrorCode; message: string };

export function spentInWindow(entries: readonly SpendingEntry[], pubkey: string, now: number): number {
  return entries.filter((entry) => entry.pubkey === pubkey && entry.state !== 'failed' && entry.at > now - BUDGET_WINDOW_MS).reduce((sum, entry) => sum + entry.sat, 0);
}

/** Whether a payment of `amountSat` (plus up to `feeLimitSat` in fees) fits the connection's budget now. */
export function decideBudget(budget: ConnectionBudget, entries: readonly SpendingEntry[], pubkey: string, amountSat: number, feeLimitSat: number, now: number): BudgetDecision {
  if (!Number.isSafeInteger(amountSat) || amountSat <= 0) return { ok: false, code: 'OTHER', message: 'invoices without a positive amount are not paid through this wallet' };
  if (amountSat > budget.maxPaymentSat) return { ok: false, code: 'QUOTA_EXCEEDED', message: `${amountSat} sat is over this connection's limit of ${budget.maxPaymentSat} sat per payment` };
  const spent = spentInWindow(entries, pubkey, now);
  if (spent + amountSat + feeLimitSat > budget.maxDailySat) {
    return { ok: false, code: 'QUOTA_EXCEEDED', message: `${amountSat} sat (+ up to ${feeLimitSat} sat fees) would exceed this connection's ${budget.maxDailySat} sat per 24 h: ${spent} sat spent` };
  }
  return { ok: true };
}
