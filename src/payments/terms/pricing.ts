// Price comparison on decimal strings, so no float rounding decides whether a job is affordable.
import type { Price } from '../../protocol/index.js';

function toUnits(amount: string, decimals: number): bigint {
  const [whole = '0', fraction = ''] = amount.split('.');
  return BigInt(whole + fraction.padEnd(decimals, '0').slice(0, decimals));
}

/** True when `price` is at most `cap`; prices in another currency or unit never fit a cap. */
export function fitsPriceCap(price: Price | undefined, cap: Price | undefined): boolean {
  if (!cap || !price) return true;
  if (price.currency !== cap.currency || price.per !== cap.per) return false;
  const decimals = Math.max(price.amount.split('.')[1]?.length ?? 0, cap.amount.split('.')[1]?.length ?? 0);
  return toUnits(price.amount, decimals) <= toUnits(cap.amount, decimals);
}
