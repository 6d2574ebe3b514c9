// Every way a payment can fail that a user can act on, as a named error with a message that says what to do.
// Amounts are in the rail's smallest unit (micro-USDC for the escrow, satoshis for Lightning).
import { InfernetError } from '../errors/index.js';

export class InsufficientTokenBalanceError extends InfernetError {
  override readonly name = 'InsufficientTokenBalanceError';
  constructor(
    readonly address: string,
    readonly balance: bigint,
    readonly needed: bigint,
    readonly symbol: string,
  ) {
    super('payment_failed', `${address} holds ${formatMicro(balance)} ${symbol} but the deposit needs ${formatMicro(needed)} ${symbol}: fund the wallet first`);
  }
}

export class InsufficientAllowanceError extends InfernetError {
  override readonly name = 'InsufficientAllowanceError';
  constructor(
    readonly owner: string,
    readonly spender: string,
    readonly allowance: bigint,
    readonly needed: bigint,
  ) {
    super('payment_failed', `${owner} allows the escrow ${spender} to take ${formatMicro(allowance)} but the deposit needs ${formatMicro(needed)}: approve the escrow first (or deposit with approval)`);
  }
}

export class InsufficientGasFundsError extends InfernetError {
  override readonly name = 'InsufficientGasFundsError';
  constructor(
    readonly address: string,
    readonly operation: string,
    options?: ErrorOptions,
  ) {
    super('payment_failed', `${address} cannot pay the gas to ${operation}: send it some of the chain's native coin (POL on Polygon)`, options);
  }
}

/** The escrow contract refused a call; `reason` is the contract's error name (AlreadySettled, NotAggregator, ...). */
export class EscrowRevertedError extends InfernetError {
  override readonly name = 'EscrowRevertedError';
  constructor(
    readonly operation: string,
    readonly jobId: string,
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super('payment_failed', `the escrow refused to ${operation} job ${jobId}: ${reason}`, options);
  }
}

export class ChannelCapacityError extends InfernetError {
  override readonly name = 'ChannelCapacityError';
  constructor(
    readonly amountSat: bigint,
    readonly detail: string,
    options?: ErrorOptions,
  ) {
    super('payment_failed', `no channel can carry ${amountSat} sat (${detail}): open a larger channel or wait for inbound capacity`, options);
  }
}

export class LightningRequestError extends InfernetError {
  override readonly name = 'LightningRequestError';
  constructor(
    readonly operation: string,
    readonly status: number,
    readonly detail: string,
    options?: ErrorOptions,
  ) {
    super('payment_failed', status === 0 ? `could not reach LND to ${operation}: ${detail}` : `LND answered ${status} to ${operation}: ${detail}`, options);
  }
}

export class WalletConfigError extends InfernetError {
  override readonly name = 'WalletConfigError';
  constructor(message: string, options?: ErrorOptions) {
    super('internal', message, options);
  }
}

export class PaymentsNotConfiguredError extends InfernetError {
  override readonly name = 'PaymentsNotConfiguredError';
  constructor(readonly what: string) {
    super('payment_required', `${what} is not configured: add a \`payments\` section to the node's config.yaml`);
  }
}

/** 1234567n -> "1.234567" (6 decimals, the stablecoin's). */
export function formatMicro(value: bigint, decimals = 6): string {
  const negative = value < 0n;
  const abs = negative ? -value : value;
  const base = 10n ** BigInt(decimals);
  const fraction = (abs % base).toString().padStart(decimals, '0');
  return `${negative ? '-' : ''}${abs / base}.${fraction}`;
}

/** "1.5" -> 1500000n; refuses more decimals than the token has. */
export function parseMicro(text: string, decimals = 6): bigint {
  const match = /^(\d+)(?:\.(\d+))?$/.exec(text.trim());
  if (!match) throw new RangeError(`"${text}" is not an amount (e.g. 1.25)`);
  const fraction = match[2] ?? '';
  if (fraction.length > decimals) throw new RangeError(`"${text}" has more than ${decimals} decimals`);
  return BigInt(match[1]!) * 10n ** BigInt(decimals) + BigInt(fraction.padEnd(decimals, '0') || '0');
}
