// Lightning escrow for the payee: a hold invoice per job, made on a payment hash the paying side gives (attack 7:
// the provider never holds the preimage before a verdict that pays it, so it cannot settle at will). The hash is
// written to the ledger before LND sees it; the preimage, once the aggregator reveals it, is checked against the
// hash and written before the invoice is settled, so a restart can still settle. A failed run's invoice is
// cancelled (the payer's HTLC unwinds: refunded).
import type { JobRole } from '../../jobs/job-record.js';
import type { PaymentLedger } from '../ledger/payment-ledger.js';
import { LightningRequestError } from '../payment-errors.js';
import type { HeldFunds, RailSettlement, SettlementRail } from '../settlement/settlement-rail.js';
import type { InvoiceState, LndRestClient } from './lnd-rest-client.js';
import { preimageMatches, PreimageMismatchError } from './run-preimage.js';
import { InfernetError } from '../../errors/index.js';

const STATUS_OF: Record<InvoiceState, HeldFunds['status']> = { OPEN: 'none', ACCEPTED: 'held', SETTLED: 'released', CANCELED: 'refunded' };

export class JobInvoiceMissingError extends InfernetError {
  override readonly name = 'JobInvoiceMissingError';
  constructor(readonly jobId: string) {
    super('payment_missing', `no hold invoice was made for job ${jobId} on this node`);
  }
}

/** A second invoice asked for a job on another hash than its first: one job, one hash. */
export class JobInvoiceHashError extends InfernetError {
  override readonly name = 'JobInvoiceHashError';
  constructor(readonly jobId: string) {
    super('payment_missing', `job ${jobId} already has a hold invoice here on another payment hash`);
  }
}

/** A release before the aggregator revealed the preimage: nothing to settle with yet (retried once it comes). */
export class PreimageUnknownError extends InfernetError {
  override readonly name = 'PreimageUnknownError';
  constructor(readonly jobId: string) {
    super('payment_missing', `the preimage of job ${jobId}'s hold invoice is not known here yet: it comes with a verdict that pays`);
  }
}

export class HoldInvoiceRail implements SettlementRail {
  readonly rail = 'lightning' as const;

  constructor(
    private readonly lnd: LndRestClient,
    private readonly ledger: PaymentLedger,
    private readonly role: JobRole = 'provider',
  ) {}

  /** The hold invoice the client pays for a job, on the hash it gave; made once, the same one returned on every later call. */
  async invoiceFor(jobId: string, amountSat: bigint, paymentHash: string, counterparty = '', expirySeconds = 3600): Promise<{ paymentRequest: string; paymentHash: string }> {
    // Recorded first: if a row exists already (a retry, a restart), it is the one used, and only on its own hash.
    const payment = await this.ledger.record({ jobId, role: this.role, direction: 'incoming', rail: 'lightning', amount: amountSat, unit: 'sat', state: 'pending', counterparty, reference: paymentHash, details: {} });
    if (payment.reference !== paymentHash) throw new JobInvoiceHashError(jobId);
    const hash = payment.reference;
    const existing = typeof payment.details.paymentRequest === 'string' ? payment.details.paymentRequest : undefined;
    if (existing) return { paymentRequest: existing, paymentHash: hash };
    let paymentRequest: string;
    try {
      ({ paymentRequest } = await this.lnd.addHoldInvoice(hash, payment.amount, `infernet job ${jobId}`, expirySeconds));
    } catch (error) {
      // Made before a crash lost its payment request: LND still has it.
      if (!(error instanceof LightningRequestError && /already exists/.test(error.detail))) throw error;
      ({ paymentRequest } = await this.lnd.lookupInvoice(hash));
    }
    await this.ledger.updateState(payment, 'pending', { details: { paymentRequest } });
    return { paymentRequest, paymentHash: hash };
  }

  async inspect(jobId: string): Promise<HeldFunds> {
    const payment = await this.ledger.find(jobId, this.role, 'lightning');
    if (!payment) return { status: 'none', amount: 0n, unit: 'sat', details: {} };
    const invoice = await this.lnd.lookupInvoice(payment.reference);
    return { status: STATUS_OF[invoice.state], amount: invoice.amountPaidSat || invoice.valueSat, unit: 'sat', details: { invoiceState: invoice.state } };
  }

  /** Keeps the preimage a verdict revealed, once it is checked against the invoice's hash: release settles with it. */
  async acceptPreimage(jobId: string, preimage: string): Promise<void> {
    const payment = await this.requirePayment(jobId);
    if (!preimageMatches(preimage, payment.reference)) throw new PreimageMismatchError(jobId);
    if (payment.details.preimage !== preimage) await this.ledger.updateState(payment, payment.state, { details: { preimage } });
  }

  async release(jobId: string): Promise<RailSettlement> {
    const payment = await this.requirePayment(jobId);
    const preimage = payment.details.preimage;
    if (typeof preimage !== 'string') throw new PreimageUnknownError(jobId);
    await this.lnd.settleInvoice(preimage);
    return { reference: payment.reference, details: { settled: true } };
  }

  async refund(jobId: string): Promise<RailSettlement> {
    const payment = await this.requirePayment(jobId);
    await this.lnd.cancelInvoice(payment.reference);
    return { reference: payment.reference, details: { cancelled: true } };
  }

  async settledBy(jobId: string): Promise<RailSettlement | undefined> {
    const payment = await this.ledger.find(jobId, this.role, 'lightning');
    return payment ? { reference: payment.reference, details: {} } : undefined;
  }

  private async requirePayment(jobId: string) {
    const payment = await this.ledger.find(jobId, this.role, 'lightning');
    if (!payment) throw new JobInvoiceMissingError(jobId);
    return payment;
  }
}
