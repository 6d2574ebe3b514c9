// How a client pays a job's hold invoice: through its own LND here, through a Nostr Wallet Connect wallet in
// src/payments/nwc. A hold invoice's payment stays in flight until the payee settles or cancels it, so paying
// resolves once the payment is under way, never at its completion.
import { LightningRequestError } from '../payment-errors.js';
import type { LndRestClient } from './lnd-rest-client.js';

export interface LightningInvoicePayer {
  /** Starts paying; resolves once the payment is in flight (or done), rejects with a named error when it cannot be made. */
  payInvoice(bolt11: string): Promise<void>;
}

/** Paying through the node's LND over REST (payments.lightning). */
export class LndInvoicePayer implements LightningInvoicePayer {
  constructor(
    private readonly lnd: LndRestClient,
    private readonly options: { feeLimitSat?: bigint; timeoutSeconds?: number } = {},
  ) {}

  async payInvoice(bolt11: string): Promise<void> {
    // Checks the channel capacity first (ChannelCapacityError), then waits only for the HTLC to leave.
    const update = await this.lnd.payInvoice(bolt11, {
      until: (next) => next.status === 'IN_FLIGHT',
      ...(this.options.feeLimitSat !== undefined ? { feeLimitSat: this.options.feeLimitSat } : {}),
      ...(this.options.timeoutSeconds !== undefined ? { timeoutSeconds: this.options.timeoutSeconds } : {}),
    });
    if (update.status === 'FAILED') throw new LightningRequestError('pay the job invoice', 200, update.failureReason || 'the payment failed');
  }
}
