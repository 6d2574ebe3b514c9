// The node's earnings from its payments ledger (superuser-only in PocketBase, so the daemon sums it for the
// interface): per rail and unit, what was released to this node, what is still pending or held, what it paid.
import type { PaymentRow } from '../storage/index.js';
import type { EarningsTotal } from './app-messages.js';

export type PaymentFigures = Pick<PaymentRow, 'direction' | 'rail' | 'unit' | 'amount' | 'state'>;

export function summariseEarnings(payments: readonly PaymentFigures[]): EarningsTotal[] {
  const totals = new Map<string, EarningsTotal>();
  for (const payment of payments) {
    const key = `${payment.rail}\u0000${payment.unit}`;
    const total = totals.get(key) ?? { rail: payment.rail, unit: payment.unit, released: 0, pending: 0, spent: 0 };
    totals.set(key, total);
    if (payment.direction === 'outgoing') {
      if (payment.state === 'released') total.spent += payment.amount;
    } else if (payment.state === 'released') total.released += payment.amount;
    else if (payment.state === 'pending' || payment.state === 'held') total.pending += payment.amount;
  }
  return [...totals.values()].sort((a, b) => a.rail.localeCompare(b.rail) || a.unit.localeCompare(b.unit));
}
