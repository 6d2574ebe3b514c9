// Lightning escrow for the payee: a hold invoice per job. The preimage is written to the ledger before LND sees
// its hash, so a crash can never leave money locked behind a secret this node forgot. After verification the
// payee settles (reveals the preimage: paid) or cancels (the payer's HTLC unwinds: refunded).
import { createHash, randomBytes } from 'node:crypto';
import type { JobRole } from '../../jobs/job-record.js';
import type { PaymentLedger } from '../ledger/payment-ledger.js';
import { LightningRequestError } from '../payment-errors.js';
import type { HeldFunds, RailSettlement, SettlementRail } from '../settlement/settlement-rail.js';
import type { InvoiceState, LndRestClient } from './lnd-rest-client.js';
import { InfernetError } from '../../errors/index.js';

const STATUS_OF: Record<InvoiceState, HeldFunds['status']> = { OPEN: 'none', ACCEPTED: 'held', SETTLED: 'released', CANCELED: 'refunded' };

export class JobInvoiceMissingError extends InfernetError {
  override readonly name = 'JobInvoiceMissingError';
  constructor(readonly jobId: string) {
    super('payment_missing', `no hold invoice was made for job ${jobId} on this node`);
  }
}

export class HoldInvoiceRail implements SettlementRail {
  readonly rail = 'lightning' as const;

  constructor(
    private readonly lnd: LndRestClient,
    private readonly ledger: PaymentLedger,
    private readonly role: JobRole = 'provider',
  ) {}

  /** The hold invoice the client pays for a job; made once, the same one returned on every later call. */
  async invoiceFor(jobId: string, amountSat: bigint, counterparty = '', expirySeconds = 3600): Promise<{ paymentRequest: string; paymentHash: string }> {
    const preimage = randomBytes(32).toString('hex');
    const paymentHash = createHash('sha256').update(Buffer.from(preimage, 'hex')).digest('hex');
    // Recorded first: if a row exists already (a retry, a restart), its preimage and hash are the ones used.
    const payment = await this.ledger.record({ jobId, role: this.role, direction: 'incoming', rail: 'lightning', amount: amountSat, unit: 'sat', state: 'pending', counterparty, reference: paymentHash, details: { preimage } });
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

  async release(jobId: string): Promise<RailSettlement> {
    const payment = await this.requirePayment(jobId);
    const preimage = payment.details.preimage;
    if (typeof preimage !== 'string') throw new JobInvoiceMissingError(jobId);
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
