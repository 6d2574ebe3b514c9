// The provider's side of a job paid by hold invoice: it makes the invoice when the aggregator asks at match time,
// runs the job only once the invoice is paid (ACCEPTED), and settles or cancels it on the run's verdict. The
// invoice is made on the hash the aggregator passes on from the client: the preimage comes only with a verdict
// that pays (src/payments/lightning/run-preimage.ts), so this side cannot settle before it.
import type { Price } from '../../protocol/index.js';
import type { VerificationVerdict } from '../../verification/verification-outcome.js';
import type { HoldInvoiceRail } from '../lightning/hold-invoice-rail.js';
import type { LndRestClient } from '../lightning/lnd-rest-client.js';
import type { PaymentLedger } from '../ledger/payment-ledger.js';
import type { SettlementService } from '../settlement/settlement-service.js';
import { jobAmount, railOfPrice } from './job-amount.js';
import { InfernetError } from '../../errors/index.js';

/** How long an offer waits for its invoice's HTLC to arrive: the client sends the offer as soon as its payment leaves. */
const ACCEPTED_WAIT_MS = 10_000;
const ACCEPTED_POLL_MS = 100;
/** A hold invoice lives this long: a job matched and never offered lets it expire. */
const INVOICE_EXPIRY_S = 3600;

/** The offer came without the payment this provider asks (no invoice made, or not paid in time). */
export class PaymentMissingError extends InfernetError {
  override readonly name = 'PaymentMissingError';
  constructor(readonly jobId: string, reason: string) {
    super('payment_missing', `job ${jobId} is not paid: ${reason}`);
  }
}

/** What a provider knows of a job when it checks its payment: its id, its token budget and its deadline (unix ms). */
export interface PaidJob {
  jobId: string;
  maxTokens: number;
  deadlineMs: number;
}

export interface ProviderJobPayments {
  /** True when every offer must come paid: a price in sat and an LND, or a price in USDC and an escrow to read. */
  readonly requiresPayment: boolean;
  invoiceFor(jobId: string, maxTokens: number, paymentHash: string, aggregator: string): Promise<{ paymentRequest: string; paymentHash: string; amountSat: string }>;
  /** Resolves once the job is paid as this provider sees it itself (its LND, its chain); PaymentMissingError otherwise. */
  requirePaid(job: PaidJob): Promise<void>;
  /** Settles with the preimage the verdict reveals (or, for a failed run, cancels) the job's invoice. */
  settleVerdict(jobId: string, verdict: VerificationVerdict, aggregator: string, preimage?: string): Promise<void>;
  /** Cancels the invoice of a job refused after it was paid. */
  refundUnrun(jobId: string): Promise<void>;
}

export class HoldInvoicePayments implements ProviderJobPayments {
  constructor(
    private readonly parts: { price?: Price; lnd: LndRestClient; ledger: PaymentLedger; rail: HoldInvoiceRail; settlement: SettlementService },
  ) {}

  get requiresPayment(): boolean {
    return Boolean(this.parts.price && railOfPrice(this.parts.price) === 'lightning');
  }

  async invoiceFor(jobId: string, maxTokens: number, paymentHash: string, aggregator: string) {
    const price = this.parts.price;
    if (!price || railOfPrice(price) !== 'lightning') throw new PaymentMissingError(jobId, 'this provider has no price in sat to invoice');
    const amount = jobAmount(price, maxTokens);
    const invoice = await this.parts.rail.invoiceFor(jobId, amount, paymentHash, aggregator, INVOICE_EXPIRY_S);
    return { ...invoice, amountSat: amount.toString() };
  }

  async requirePaid({ jobId }: PaidJob): Promise<void> {
    const payment = await this.parts.ledger.find(jobId, 'provider', 'lightning');
    if (!payment) throw new PaymentMissingError(jobId, 'no hold invoice was made for it here');
    for (const deadline = Date.now() + ACCEPTED_WAIT_MS; ; ) {
      const invoice = await this.parts.lnd.lookupInvoice(payment.reference);
      if (invoice.state === 'ACCEPTED' && invoice.amountPaidSat >= payment.amount) return;
      if (invoice.state !== 'OPEN' || Date.now() > deadline) throw new PaymentMissingError(jobId, `its hold invoice is ${invoice.state}${invoice.state === 'OPEN' ? ` after ${ACCEPTED_WAIT_MS} ms` : ''}, not paid`);
      await new Promise((resolve) => setTimeout(resolve, ACCEPTED_POLL_MS));
    }
  }

  async settleVerdict(jobId: string, verdict: VerificationVerdict, aggregator: string, preimage?: string): Promise<void> {
    const payment = await this.parts.ledger.find(jobId, 'provider', 'lightning');
    if (!payment || payment.counterparty !== aggregator) return; // only the aggregator that asked for the invoice decides it
    // Checked and kept before the release is decided: a restart settles with it (a wrong one is refused, nothing decided).
    if (verdict !== 'failed') {
      if (!preimage) throw new PaymentMissingError(jobId, `its aggregator sent the verdict ${verdict} without the preimage to settle with`);
      await this.parts.rail.acceptPreimage(jobId, preimage);
    }
    await this.parts.settlement.settleOutcome({ runJobId: jobId, verdict, provider: '' });
  }

  async refundUnrun(jobId: string): Promise<void> {
    const payment = await this.parts.ledger.find(jobId, 'provider', 'lightning');
    if (!payment) return;
    // Still unpaid: cancelled too, so that a late payment is refused rather than held for a job that never runs.
    if ((await this.parts.lnd.lookupInvoice(payment.reference)).state === 'OPEN') await this.parts.lnd.cancelInvoice(payment.reference);
    await this.parts.settlement.settle(jobId, 'refund', { reason: 'offer refused' });
  }
}
