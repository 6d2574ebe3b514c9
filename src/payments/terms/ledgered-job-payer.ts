// A client's payer that writes what it put up into the node's ledger (role client, outgoing, held), so
// `infernet wallet history` on a client shows its jobs' deposits and invoice payments beside their references.
import type PocketBase from 'pocketbase';
import type { Logger } from '../../log/index.js';
import type { PaymentRailName, PaymentTerms } from '../../protocol/index.js';
import { PaymentLedger } from '../ledger/payment-ledger.js';
import type { JobPayer, JobPayment } from './job-payer.js';
import type { MatchFacts } from './payment-terms.js';

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

  /** Pays, then records; a record that cannot be written is logged, never fails the job: the money already moved. */
  async pay(terms: PaymentTerms, job: MatchFacts): Promise<JobPayment> {
    const payment = await this.payer.pay(terms, job);
    await this.ledger
      .record({
        jobId: job.jobId,
        role: 'client',
        direction: 'outgoing',
        rail: payment.rail,
        amount: BigInt(payment.amount),
        unit: payment.unit,
        state: payment.state,
        counterparty: job.provider ?? '',
        reference: payment.txHash ?? payment.paymentHash ?? '',
        details: terms.rail === 'evm' ? { escrow: terms.escrow, payout: terms.provider, aggregator: terms.aggregator, deadline: terms.deadline } : { paymentHash: terms.paymentHash },
      })
      .catch((error: Error) => this.logger.warn({ jobId: job.jobId, err: error.message }, 'the payment went out but could not be written to the ledger'));
    return payment;
  }
}
