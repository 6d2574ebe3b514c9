// What a final payment adds to the node's `infernet_payment_amount_total{direction, currency}`: pure, so the
// rule (an aggregator earns its fee on a release; a payee its invoice) is testable without a registry.
import type { Payment } from '../ledger/payment-ledger.js';

export interface PaymentMetric {
  direction: 'paid' | 'received';
  currency: string;
  /** In units of the currency (USDC, not micro-USDC). */
  amount: number;
}

export function paymentMetricOf(payment: Payment): PaymentMetric | undefined {
  if (payment.state !== 'released') return undefined;
  if (payment.unit === 'micro-usdc') {
    // An aggregator's escrow row holds provider amount + fee; only the fee is the aggregator's.
    const fee = typeof payment.details.fee === 'string' ? BigInt(payment.details.fee) : payment.role === 'aggregator' ? 0n : payment.amount;
    return fee > 0n ? { direction: payment.direction === 'incoming' ? 'received' : 'paid', currency: 'USDC', amount: Number(fee) / 1e6 } : undefined;
  }
  return { direction: payment.direction === 'incoming' ? 'received' : 'paid', currency: 'sat', amount: Number(payment.amount) };
}
