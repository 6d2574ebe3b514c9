// What a job costs, from the provider's price and the job's token budget, in a rail's smallest unit. Pure and
// exact (bigint arithmetic on the price's decimal string); rounded up, so a provider is never paid below its price.
import type { PaymentRailName, Price } from '../../protocol/index.js';
import { InfernetError } from '../../errors/index.js';

/** Decimals of each rail's unit: the stablecoin's micro-units (USDC has 6), satoshis. */
export const RAIL_DECIMALS: Readonly<Record<PaymentRailName, number>> = { evm: 6, lightning: 0 };

/** Basis points in a whole. */
const BPS = 10_000n;

export class UnpayablePriceError extends InfernetError {
  override readonly name = 'UnpayablePriceError';
  constructor(readonly price: Price, reason: string) {
    super('payment_refused', `a price of ${price.amount} ${price.currency} per ${price.per} cannot be paid: ${reason}`);
  }
}

/** The rail a price is paid on, by its currency: USDC on the escrow, satoshis (sat) on Lightning; none for others. */
export function railOfPrice(price: Price): PaymentRailName | undefined {
  const currency = price.currency.toLowerCase();
  if (currency === 'usdc') return 'evm';
  if (currency === 'sat' || currency === 'sats') return 'lightning';
  return undefined;
}

/** The pay for a job of at most `maxTokens` at `price`, in base units of the price's rail, rounded up. */
export function jobAmount(price: Price, maxTokens: number): bigint {
  const rail = railOfPrice(price);
  if (!rail) throw new UnpayablePriceError(price, 'its currency is neither USDC nor sat');
  const [whole = '0', fraction = ''] = price.amount.split('.');
  const priceScaled = BigInt(whole + fraction); // price × 10^fraction.length
  const unitScale = 10n ** BigInt(RAIL_DECIMALS[rail]);
  const numerator = priceScaled * unitScale * (price.per === 'job' ? 1n : BigInt(maxTokens));
  const denominator = 10n ** BigInt(fraction.length) * (price.per === 'job' ? 1n : 1000n);
  return ceilDiv(numerator, denominator);
}

/** The aggregator's fee on a provider's pay, rounded down (never more than the rate). */
export function feeFor(amount: bigint, feeBps: number): bigint {
  return (amount * BigInt(feeBps)) / BPS;
}

function ceilDiv(numerator: bigint, denominator: bigint): bigint {
  return (numerator + denominator - 1n) / denominator;
}
