// Named errors for Nostr Wallet Connect: one class per NIP-47 error code a wallet service answers with, plus the
// client's own failures (a bad connection URI, no answer in time, no relay taking the request).
import { InfernetError } from '../../errors/index.js';

/** The error codes of NIP-47 (responses' `error.code`). */
export const NWC_ERROR_CODES = [
  'RATE_LIMITED',
  'NOT_IMPLEMENTED',
  'INSUFFICIENT_BALANCE',
  'QUOTA_EXCEEDED',
  'RESTRICTED',
  'UNAUTHORIZED',
  'INTERNAL',
  'UNSUPPORTED_ENCRYPTION',
  'PAYMENT_FAILED',
  'NOT_FOUND',
  'OTHER',
] as const;
export type NwcErrorCode = (typeof NWC_ERROR_CODES)[number];

/**
 * A wallet service refused or failed a request; `walletCode` is the NIP-47 code it answered with. Whatever the
 * wallet's reason, this node could not pay (payment_failed), except a wallet that limits its rate: that one may
 * take the request again soon (rate_limited).
 */
export class NwcWalletError extends InfernetError {
  override readonly name: string = 'NwcWalletError';
  constructor(
    readonly walletCode: NwcErrorCode,
    readonly walletMessage: string,
    readonly method: string,
  ) {
    super(walletCode === 'RATE_LIMITED' ? 'rate_limited' : 'payment_failed', `the wallet refused ${method}: ${walletCode}: ${walletMessage}`);
  }
}

export class RateLimitedError extends NwcWalletError {
  override readonly name = 'RateLimitedError';
}
export class NotImplementedError extends NwcWalletError {
  override readonly name = 'NotImplementedError';
}
export class InsufficientBalanceError extends NwcWalletError {
  override readonly name = 'InsufficientBalanceError';
}
export class QuotaExceededError extends NwcWalletError {
  override readonly name = 'QuotaExceededError';
}
export class RestrictedError extends NwcWalletError {
  override readonly name = 'RestrictedError';
}
export class UnauthorizedError extends NwcWalletError {
  override readonly name = 'UnauthorizedError';
}
export class WalletInternalError extends NwcWalletError {
  override readonly name = 'WalletInternalError';
}
export class UnsupportedEncryptionError extends NwcWalletError {
  override readonly name = 'UnsupportedEncryptionError';
}
export class PaymentFailedError extends NwcWalletError {
  override readonly name = 'PaymentFailedError';
}
export class InvoiceNotFoundError extends NwcWalletError {
  override readonly name = 'InvoiceNotFoundError';
}

const ERROR_CLASSES: Record<NwcErrorCode, typeof NwcWalletError> = {
  RATE_LIMITED: RateLimitedError,
  NOT_IMPLEMENTED: NotImplementedError,
  INSUFFICIENT_BALANCE: InsufficientBalanceError,
  QUOTA_EXCEEDED: QuotaExceededError,
  RESTRICTED: RestrictedError,
  UNAUTHORIZED: UnauthorizedError,
  INTERNAL: WalletInternalError,
  UNSUPPORTED_ENCRYPTION: UnsupportedEncryptionError,
  PAYMENT_FAILED: PaymentFailedError,
  NOT_FOUND: InvoiceNotFoundError,
  OTHER: NwcWalletError,
};

/** The named error for a code a wallet answered with; a code NIP-47 does not define reads as OTHER. */
export function nwcWalletError(code: string, message: string, method: string): NwcWalletError {
  const known = (NWC_ERROR_CODES as readonly string[]).includes(code) ? (code as NwcErrorCode) : 'OTHER';
  return new ERROR_CLASSES[known](known, known === code ? message : `${code}: ${message}`, method);
}

export class NwcUriError extends InfernetError {
  override readonly name = 'NwcUriError';
  constructor(reason: string) {
    super('internal', `not a Nostr Wallet Connect URI (nostr+walletconnect://<wallet pubkey>?relay=...&secret=...): ${reason}`);
  }
}

export class NwcTimeoutError extends InfernetError {
  override readonly name = 'NwcTimeoutError';
  constructor(
    readonly method: string,
    readonly timeoutMs: number,
  ) {
    super('payment_failed', `the wallet did not answer ${method} within ${timeoutMs} ms (is its service connected to the relay?)`);
  }
}

export class NwcRelayError extends InfernetError {
  override readonly name = 'NwcRelayError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('payment_failed', message, options);
  }
}

/** The wallet file's `nwc` section or the service's spending record cannot be read or is malformed. */
export class NwcStateError extends InfernetError {
  override readonly name = 'NwcStateError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('internal', message, options);
  }
}
