import assert from 'node:assert/strict';
import { it } from 'node:test';
import { fitsPriceCap } from './pricing.js';

const usdc = (amount: string) => ({ amount, currency: 'USDC', per: '1k_tokens' as const });

it('compares decimal prices exactly against the cap', () => {
  assert.equal(fitsPriceCap(usdc('0.1'), usdc('0.10')), true);
  assert.equal(fitsPriceCap(usdc('0.100001'), usdc('0.1')), false);
  assert.equal(fitsPriceCap(usdc('2'), usdc('10.5')), true);
});
it('never fits a cap in another currency, and anything fits when either side names no price', () => {
  assert.equal(fitsPriceCap({ amount: '1', currency: 'sat', per: '1k_tokens' }, usdc('100')), false);
  assert.equal(fitsPriceCap(undefined, usdc('1')), true);
  assert.equal(fitsPriceCap(usdc('1'), undefined), true);
});
