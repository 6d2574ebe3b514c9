// The aggregator's side of a paid match: the rails it takes, the escrow terms it offers for a job, and the
// check of the client's deposit on chain before the job is dispatched.
import type { PaymentRailName, Price } from '../../protocol/index.js';
import type { EscrowClient } from '../evm/escrow-client.js';
import type { SettlementService } from '../settlement/settlement-service.js';
import { depositMismatch, evmTermsFor, type EvmTerms } from './payment-terms.js';

/** An RPC endpoint behind a load balancer may not show a just-mined deposit yet: looked for again this long. */
const DEPOSIT_VISIBLE_WAIT_MS = 3_000;
const DEPOSIT_POLL_MS = 250;

export interface AggregatorPaymentTerms {
  readonly rails: readonly PaymentRailName[];
  /** The escrow terms for a job at the provider's price, paying the provider's payout address. */
  evmTerms(input: { jobId: string; price: Price; maxTokens: number; providerPayout: string; jobDeadlineMs: number }): EvmTerms;
  /** Undefined when the escrow holds the deposit the terms describe; else why it does not. */
  depositProblem(jobId: string, terms: EvmTerms): Promise<string | undefined>;
  /** Failover: refunds the deposit of an attempt whose provider was lost (keyed by attemptPaymentId), if one was made. */
  refundLostAttempt?(paymentId: string, provider: string): Promise<void>;
}

export class EscrowTermsIssuer implements AggregatorPaymentTerms {
  readonly rails: readonly PaymentRailName[];

  /** `escrow` signs as the aggregator (its address is the one the deposit names); `lightning`: relay providers' hold invoices. */
  constructor(private readonly parts: { escrow?: EscrowClient; feeBps: number; lightning: boolean; settlement?: Pick<SettlementService, 'refundLostAttempt'> }) {
    this.rails = [...(parts.escrow?.address ? (['evm'] as const) : []), ...(parts.lightning ? (['lightning'] as const) : [])];
  }

  evmTerms(input: { jobId: string; price: Price; maxTokens: number; providerPayout: string; jobDeadlineMs: number }): EvmTerms {
    const escrow = this.requireEscrow();
    return evmTermsFor({ ...input, feeBps: this.parts.feeBps, chainId: escrow.options.chain.id, escrow: escrow.options.escrow, token: escrow.options.token, provider: input.providerPayout, aggregator: escrow.address! });
  }

  async depositProblem(jobId: string, terms: EvmTerms): Promise<string | undefined> {
    const escrow = this.requireEscrow();
    for (const deadline = Date.now() + DEPOSIT_VISIBLE_WAIT_MS; ; ) {
      const record = await escrow.escrowOf(jobId);
      if (record.status !== 'none' || Date.now() > deadline) return depositMismatch(record, terms);
      await new Promise((resolve) => setTimeout(resolve, DEPOSIT_POLL_MS));
    }
  }

  async refundLostAttempt(paymentId: string, provider: string): Promise<void> {
    await this.parts.settlement?.refundLostAttempt(paymentId, provider);
  }

  private requireEscrow(): EscrowClient {
    if (!this.parts.escrow) throw new Error('this aggregator takes no escrow payments (payments.evm)');
    return this.parts.escrow;
  }
}
