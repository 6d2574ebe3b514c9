import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Payment } from '../ledger/payment-ledger.js';
import { paymentMetricOf } from './payment-metrics.js';

const base: Payment = { id: 'x', jobId: 'j', role: 'aggregator', direction: 'incoming', rail: 'evm', amount: 2_100_000n, unit: 'micro-usdc', state: 'released', reference: '', counterparty: '', details: { fee: '100000', providerAmount: '2000000' }, createdAt: 0, updatedAt: 0 };

describe('payment metrics', () => {
  it("counts an aggregator's fee, not the provider's amount that passed through its escrow", () => {
    assert.deepEqual(paymentMetricOf(base), { direction: 'received', currency: 'USDC', amount: 0.1 });
  });

  it('counts a settled hold invoice in satoshis, and nothing for refunds or failures', () => {
    assert.deepEqual(paymentMetricOf({ ...base, role: 'provider', rail: 'lightning', unit: 'sat', amount: 2_100n, details: {} }), { direction: 'received', currency: 'sat', amount: 2_100 });
    assert.equal(paymentMetricOf({ ...base, state: 'refunded' }), undefined);
    assert.equal(paymentMetricOf({ ...base, state: 'failed' }), undefined);
    assert.equal(paymentMetricOf({ ...base, details: { fee: '0' } }), undefined);
  });
});
