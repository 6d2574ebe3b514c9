// The provider's own check of an escrow-paid job: before it fetches, loads or runs anything, it reads the escrow on
// its own chain client for a deposit that pays its payout address the job's price. It trusts no aggregator's word:
// any peer may dial a provider's published endpoint and call itself an aggregator.
import { MAX_JOB_ATTEMPTS, attemptPaymentId } from '../../jobs/job-failover.js';
import type { Price } from '../../protocol/index.js';
import type { EscrowClient, EscrowRecord } from '../evm/escrow-client.js';
import { jobAmount } from './job-amount.js';
import { PaymentMissingError, type PaidJob, type ProviderJobPayments } from './provider-payments.js';

/** An RPC endpoint behind a load balancer may not show a just-mined deposit yet: looked for again this long. */
const DEPOSIT_VISIBLE_WAIT_MS = 3_000;
const DEPOSIT_POLL_MS = 250;

/** What a deposit must hold for this provider to run the job. */
export interface DepositDemand {
  /** This provider's payout address. */
  payout: string;
  /** The job's price for its token budget, in the token's base units. */
  amount: bigint;
  /** The job's own deadline, unix seconds: the aggregator must still be able to release after the run. */
  jobDeadlineS: number;
}

/** Why a deposit does not pay this provider for the job; undefined when it does. Pure. */
export function depositShortfall(record: EscrowRecord, demand: DepositDemand): string | undefined {
  if (record.status !== 'deposited') return `the escrow holds ${record.status === 'none' ? 'no deposit' : `a ${record.status} deposit`} for the job`;
  if (record.provider.toLowerCase() !== demand.payout.toLowerCase()) return `the deposit pays ${record.provider}, not this provider's payout address ${demand.payout}`;
  if (record.amount < demand.amount) return `the deposit holds ${record.amount} for the provider, the job's price is ${demand.amount}`;
  if (record.deadline < BigInt(demand.jobDeadlineS)) return `the deposit can be refunded at ${record.deadline}, before the job's deadline ${demand.jobDeadlineS}`;
  return undefined;
}

/**
 * A provider priced in USDC: every offer must come with a deposit in its own configured escrow, under the job id
 * or one of its failover attempts' keys (`<jobId>~N`), paying its payout address at least its price.
 */
export class EscrowDepositPayments implements ProviderJobPayments {
  readonly requiresPayment = true;

  constructor(private readonly parts: { price: Price; payout: `0x${string}`; escrow: Pick<EscrowClient, 'escrowOf'> }) {}

  invoiceFor(jobId: string): Promise<never> {
    return Promise.reject(new PaymentMissingError(jobId, 'this provider is paid through the escrow, not by invoice'));
  }

  async requirePaid(job: PaidJob): Promise<void> {
    const demand: DepositDemand = { payout: this.parts.payout, amount: jobAmount(this.parts.price, job.maxTokens), jobDeadlineS: Math.ceil(job.deadlineMs / 1000) };
    const keys = Array.from({ length: MAX_JOB_ATTEMPTS }, (_, index) => attemptPaymentId(job.jobId, index + 1));
    for (const deadline = Date.now() + DEPOSIT_VISIBLE_WAIT_MS; ; ) {
      const records = await Promise.all(keys.map((key) => this.parts.escrow.escrowOf(key)));
      const problems = records.map((record) => depositShortfall(record, demand));
      if (problems.some((problem) => problem === undefined)) return;
      const made = records.findIndex((record) => record.status !== 'none');
      if (made >= 0 || Date.now() > deadline) throw new PaymentMissingError(job.jobId, problems[Math.max(0, made)]!);
      await new Promise((resolve) => setTimeout(resolve, DEPOSIT_POLL_MS));
    }
  }

  // The escrow is settled by the aggregator named in the deposit; the provider has nothing to settle or cancel.
  async settleVerdict(): Promise<void> {}
  async refundUnrun(): Promise<void> {}
}
