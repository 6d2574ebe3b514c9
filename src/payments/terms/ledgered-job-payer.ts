// A client's payer that writes what it puts up into the node's ledger (role client, outgoing), so `infernet wallet
// history` on a client shows its jobs' deposits and invoice payments beside their references, and so the refund
// sweep finds every deposit. The row is written BEFORE the money moves (state pending, phase depositing) and
// completed after (held, deposited): a crash between the two leaves a row the sweep resolves from the chain, where
// paying first lost track of money whenever the process died before its write.
import type PocketBase from 'pocketbase';
import type { Logger } from '../../log/index.js';
import type { PaymentRailName, PaymentTerms } from '../../protocol/index.js';
import { PaymentLedger } from '../ledger/payment-ledger.js';
import type { JobPayer, JobPayment } from './job-payer.js';
import { InsufficientAllowanceError, InsufficientGasFundsError, InsufficientTokenBalanceError } from '../payment-errors.js';
import { PaymentTermsRefusedError, type MatchFacts } from './payment-terms.js';

/**
 * Failures raised before a transaction is sent: the escrow holds nothing of this payment. (A revert is not among
 * them: a retried deposit reverts because the first one is there.)
 */
function movedNothing(error: unknown): boolean {
  return [PaymentTermsRefusedError, InsufficientTokenBalanceError, InsufficientAllowanceError, InsufficientGasFundsError].some((type) => error instanceof type);
}

/** The payer itself where the node keeps no ledger (storage.backend: file); else one that records into it. */
export function withClientLedger(payer: JobPayer, pocketbase: PocketBase | undefined, logger: Logger): JobPayer {
  return pocketbase ? new LedgeredJobPayer(payer, new PaymentLedger(pocketbase), logger) : payer;
}

export class LedgeredJobPayer implements JobPayer {
  constructor(
    private readonly payer: JobPayer,
    private readonly ledger: PaymentLedger,
    private readonly logger: Logger,
  ) {}

  get rails(): readonly PaymentRailName[] {
    return this.payer.rails;
  }

  /**
   * Records the payment as depositing, pays, then marks it deposited. A ledger that cannot be written stops the
   * payment (nothing has moved yet); a payment that fails by name before any money moved is marked failed; any other
   * failure (a lost receipt, a crash) leaves the row pending for the sweep to settle from the chain.
   */
  async pay(terms: PaymentTerms, job: MatchFacts): Promise<JobPayment> {
    const evm = terms.rail === 'evm';
    const row = await this.ledger.record({
      jobId: job.jobId,
      role: 'client',
      direction: 'outgoing',
      rail: terms.rail,
      amount: evm ? BigInt(terms.amount) + BigInt(terms.fee) : BigInt(terms.amountSat),
      unit: evm ? 'micro-usdc' : 'sat',
      state: 'pending',
      counterparty: job.provider ?? '',
      reference: evm ? '' : terms.paymentHash,
      details: { phase: 'depositing', ...(evm ? { escrow: terms.escrow, payout: terms.provider, aggregator: terms.aggregator, deadline: terms.deadline } : { paymentHash: terms.paymentHash }) },
    });
    let payment: JobPayment;
    try {
      payment = await this.payer.pay(terms, job);
    } catch (error) {
      if (movedNothing(error)) await this.ledger.updateState(row, 'failed', { details: { phase: 'not-paid', error: (error as Error).message.slice(0, 500) } }).catch(() => undefined);
      throw error;
    }
    await this.ledger
      .updateState(row, payment.state, { reference: payment.txHash ?? payment.paymentHash ?? '', details: { phase: 'deposited' } })
      .catch((error: Error) => this.logger.warn({ jobId: job.jobId, err: error.message }, 'the payment went out but its ledger row stays pending; the refund sweep reads the chain for it'));
    return payment;
  }
}
