import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describePayment } from './submit.js';

describe('what `infernet submit` tells of a payment on stderr', () => {
  it('an escrow deposit in USDC with six decimals, exact for any amount, and its transaction', () => {
    assert.equal(describePayment({ rail: 'evm', amount: '12600', unit: 'micro-usdc', state: 'held', txHash: '0xabc' }), 'paid 0.012600 USDC into the escrow (tx 0xabc), held until the result is verified');
    assert.equal(describePayment({ rail: 'evm', amount: '123456789012345678', unit: 'micro-usdc', state: 'held', txHash: '0x1' }).split(' ')[1], '123456789012.345678');
  });

  it('a hold invoice in sat, with its payment hash', () => {
    assert.equal(describePayment({ rail: 'lightning', amount: '2500', unit: 'sat', state: 'held', paymentHash: 'ff'.repeat(32) }), `paid 2500 sat by hold invoice (payment hash ${'ff'.repeat(32)}), held until the result is verified`);
  });
});
