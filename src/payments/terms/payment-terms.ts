// The payment terms of a match, as pure functions over plain data: which rail a job is paid on, the escrow
// terms an aggregator offers, what a client accepts (a malicious aggregator must not redirect or inflate its
// deposit: the payee and the price are the ones the provider signed), and whether an escrow deposit matches the
// terms offered.
import type { NostrEvent, PaymentRailName, PaymentTerms, Price } from '../../protocol/index.js';
import type { EscrowRecord } from '../evm/escrow-client.js';
import type { DecodedInvoice } from '../lightning/bolt11.js';
import { feeFor, jobAmount, railOfPrice } from './job-amount.js';
import { InfernetError } from '../../errors/index.js';
import { readPayoutStatement, type PayoutStatement } from './payout-statement.js';

/** Time after the job's own deadline in which the aggregator may still release (after it, the client refunds). */
export const SETTLEMENT_WINDOW_S = 600;
/** The longest a client lets its deposit be held past its job's deadline. */
export const MAX_ESCROW_HOLD_S = 86_400;
/**
 * The most a client puts up for one job (the provider's amount and the aggregator's fee together) when its user set
 * no price cap: 10 USDC on the escrow, 50,000 sat on Lightning. A provider may sign any price; without a cap of the
 * user's own, this bounds what one matched job can cost. Set a cap (`--max-price`, `infernet.price_cap`) to pay more.
 */
export const DEFAULT_MAX_JOB_PAYMENT: Readonly<Record<PaymentRailName, bigint>> = { evm: 10_000_000n, lightning: 50_000n };

export type EvmTerms = Extract<PaymentTerms, { rail: 'evm' }>;
export type LightningTerms = Extract<PaymentTerms, { rail: 'lightning' }>;

/** Why a client will not pay what a match asks: a named reason, shown to the user. */
export class PaymentTermsRefusedError extends InfernetError {
  override readonly name = 'PaymentTermsRefusedError';
  constructor(readonly jobId: string, readonly reason: string) {
    super('payment_refused', `refused the payment terms of job ${jobId}: ${reason}`);
  }
}

/** The decision of an aggregator at match time. */
export type RailChoice = { kind: 'free' } | { kind: 'pay'; rail: PaymentRailName } | { kind: 'refuse'; reason: string };

/**
 * Payment is required when the aggregator takes payments and the provider has a price: on the rail of the
 * price's currency, if the aggregator takes that rail. A client that cannot pay on it, or a provider that names
 * no payout for it, is refused (payment_required). A price in a currency no rail carries, or on a rail this
 * aggregator does not take, leaves the job free here (a Lightning provider still refuses unpaid offers itself).
 */
export function chooseRail(input: { aggregatorRails: readonly PaymentRailName[]; clientRails: readonly PaymentRailName[]; price?: Price; payout?: { evm?: string; lightning?: boolean } }): RailChoice {
  if (!input.price || !input.aggregatorRails.length) return { kind: 'free' };
  const rail = railOfPrice(input.price);
  if (!rail || !input.aggregatorRails.includes(rail)) return { kind: 'free' };
  if (!input.clientRails.includes(rail)) return { kind: 'refuse', reason: `the provider's price is paid on ${rail} and this client offers ${input.clientRails.length ? input.clientRails.join(', ') : 'no payment rail'}: configure payments.${rail} on the client` };
  if (rail === 'evm' && !input.payout?.evm) return { kind: 'refuse', reason: 'the provider names no EVM payout address' };
  if (rail === 'lightning' && !input.payout?.lightning) return { kind: 'refuse', reason: 'the provider makes no Lightning invoices' };
  return { kind: 'pay', rail };
}

/** The escrow terms an aggregator offers for a job. */
export function evmTermsFor(input: { price: Price; maxTokens: number; feeBps: number; chainId: number; escrow: string; token: string; provider: string; aggregator: string; jobDeadlineMs: number }): EvmTerms {
  const amount = jobAmount(input.price, input.maxTokens);
  return {
    rail: 'evm',
    chainId: input.chainId,
    escrow: input.escrow,
    token: input.token,
    provider: input.provider,
    aggregator: input.aggregator,
    amount: amount.toString(),
    fee: feeFor(amount, input.feeBps).toString(),
    deadline: Math.ceil(input.jobDeadlineMs / 1000) + SETTLEMENT_WINDOW_S,
  };
}

/** What the client itself knows and allows: its own chain, escrow and token, its fee bound, its job. */
export interface ClientPaymentPolicy {
  /** `aggregator`: the aggregator's EVM address when the client knows it by other means than the match itself. */
  evm?: { chainId: number; escrow: string; token: string; aggregator?: string };
  lightning: boolean;
  maxFeeBps: number;
}

export interface MatchFacts {
  jobId: string;
  maxTokens: number;
  /** Unix ms. */
  jobDeadlineMs: number;
  /** The price the match names: the aggregator's word, unsigned, so never what the amount is checked against. */
  price?: Price;
  priceCap?: Price;
  /** The matched provider's hex public key: who the client's ledger names as paid, and who signed the statement. */
  provider?: string;
  /** The provider's signed payout statement, forwarded by the aggregator in job.match (payout-statement.ts). */
  payoutStatement?: NostrEvent;
  /** The hex public key of the aggregator the match came from (the session's peer): who signed aggregatorStatement. */
  aggregator?: string;
  /** The aggregator's own statement of its EVM address, from job.match. */
  aggregatorStatement?: NostrEvent;
  /**
   * The payment hash of this payment's preimage, derived from the hold secret the client sent with its job request
   * (src/payments/lightning/run-preimage.ts): a hold invoice on any other hash has a preimage the provider may hold.
   */
  holdPaymentHash?: string;
}

/** Throws PaymentTermsRefusedError unless the client should deposit exactly these terms. */
export function checkEvmTerms(terms: EvmTerms, policy: ClientPaymentPolicy, job: MatchFacts): void {
  const refuse = refuserFor(job.jobId);
  const own = policy.evm ?? refuse('this node has no payments.evm escrow to pay with');
  if (terms.chainId !== own.chainId) refuse(`the terms name chain ${terms.chainId}, this node pays on chain ${own.chainId}`);
  if (!sameAddress(terms.escrow, own.escrow)) refuse(`the terms name escrow ${terms.escrow}, not this node's payments.evm.escrow ${own.escrow}`);
  if (!sameAddress(terms.token, own.token)) refuse(`the terms name token ${terms.token}, not this node's ${own.token}`);
  const signed = signedPayoutOf(job, refuse);
  const payout = signed.evm ?? refuse('the provider signed no EVM payout address');
  if (!sameAddress(terms.provider, payout)) refuse(`the terms pay ${terms.provider}, not the payout address ${payout} the provider signed`);
  if (own.aggregator && !sameAddress(terms.aggregator, own.aggregator)) refuse(`the terms name aggregator ${terms.aggregator}, not the aggregator this node talks to (${own.aggregator})`);
  // The party that releases the deposit and takes the fee is the aggregator the client talks to, by its own signature.
  const aggregatorAddress = signedAggregatorAddressOf(job, refuse);
  if (!sameAddress(terms.aggregator, aggregatorAddress)) refuse(`the terms name aggregator ${terms.aggregator}, not the address ${aggregatorAddress} the aggregator signed as its own`);
  const amount = BigInt(terms.amount);
  const fee = BigInt(terms.fee);
  checkAmount(amount, fee, 'evm', signed, job, refuse);
  if (fee > feeFor(amount, policy.maxFeeBps)) refuse(`the aggregator's fee ${terms.fee} is above ${policy.maxFeeBps} bps of ${terms.amount} (payments.maxFeeBps)`);
  const jobDeadlineS = Math.ceil(job.jobDeadlineMs / 1000);
  if (terms.deadline < jobDeadlineS) refuse(`the escrow deadline ${terms.deadline} is before the job's own (${jobDeadlineS}): the provider could not be paid`);
  if (terms.deadline > jobDeadlineS + MAX_ESCROW_HOLD_S) refuse(`the escrow deadline ${terms.deadline} would hold the deposit more than ${MAX_ESCROW_HOLD_S} s past the job's deadline`);
}

/** Throws PaymentTermsRefusedError unless the invoice is the one the terms describe, for the price the match names. */
export function checkLightningTerms(terms: LightningTerms, invoice: DecodedInvoice, policy: ClientPaymentPolicy, job: MatchFacts): void {
  const refuse = refuserFor(job.jobId);
  if (!policy.lightning) refuse('this node has no Lightning wallet to pay with (payments.lightning)');
  if (invoice.paymentHash !== terms.paymentHash) refuse('the invoice pays another payment hash than the terms name');
  // Attack 7: on a hash of its own making the provider could settle at once, whatever the verdict.
  if (!job.holdPaymentHash) refuse('this node made no preimage for the invoice (no hold secret went with the job request): the provider could settle it at will');
  if (invoice.paymentHash !== job.holdPaymentHash) refuse('the invoice is on another payment hash than the preimage this node made: the provider could settle it at will');
  const amountSat = BigInt(terms.amountSat);
  if (invoice.amountMsat === undefined) refuse('the invoice names no amount');
  if (invoice.amountMsat !== amountSat * 1000n) refuse(`the invoice asks ${invoice.amountMsat} msat, the terms ${terms.amountSat} sat`);
  const signed = signedPayoutOf(job, refuse);
  if (!signed.lightningNodeKey) refuse('the provider signed no Lightning node key: nothing shows whose invoice this is');
  if (invoice.payee !== signed.lightningNodeKey) refuse(`the invoice pays node ${invoice.payee ?? '(unknown)'}, not the Lightning node ${signed.lightningNodeKey} the provider signed`);
  checkAmount(amountSat, 0n, 'lightning', signed, job, refuse);
}

/** The EVM address the aggregator signed as its own with its node key; refused when absent, forged or from another key. */
function signedAggregatorAddressOf(job: MatchFacts, refuse: (reason: string) => never): string {
  if (!job.aggregator) refuse('the match names no aggregator key to check its statement against');
  const read = readPayoutStatement(job.aggregatorStatement, job.aggregator, 'aggregator');
  if ('refused' in read) refuse(read.refused);
  return read.evm ?? refuse('the aggregator signed no EVM address of its own');
}

/** The provider's signed statement of how it is paid; refused when absent, forged or from another key. */
function signedPayoutOf(job: MatchFacts, refuse: (reason: string) => never): PayoutStatement {
  if (!job.provider) refuse('the match names no provider to check its payout statement against');
  const read = readPayoutStatement(job.payoutStatement, job.provider);
  return 'refused' in read ? refuse(read.refused) : read;
}

/**
 * The amount must be positive and at most the provider's signed price for the job's tokens (never the aggregator's
 * unsigned number); the amount and fee together within the client's cap, or DEFAULT_MAX_JOB_PAYMENT without one.
 */
function checkAmount(amount: bigint, fee: bigint, rail: PaymentRailName, signed: PayoutStatement, job: MatchFacts, refuse: (reason: string) => never): void {
  if (amount <= 0n) refuse('the terms ask no amount');
  const price = signed.price && railOfPrice(signed.price) === rail ? signed.price : refuse(`the provider signed no ${rail} price to check the amount against`);
  const priced = jobAmount(price, job.maxTokens);
  if (amount > priced) refuse(`the terms ask ${amount} but ${job.maxTokens} tokens at the provider's signed ${price.amount} ${price.currency} per ${price.per} cost ${priced}`);
  if (job.priceCap) {
    if (railOfPrice(job.priceCap) !== rail || job.priceCap.per !== price.per || job.priceCap.currency.toLowerCase() !== price.currency.toLowerCase()) refuse(`the price cap (${job.priceCap.currency} per ${job.priceCap.per}) is not in the price's terms`);
    const cap = jobAmount(job.priceCap, job.maxTokens);
    if (amount > cap) refuse(`the terms ask ${amount}, above the price cap's ${cap}`);
  } else if (amount + fee > DEFAULT_MAX_JOB_PAYMENT[rail]) {
    refuse(`the terms ask ${amount + fee} in all, above the default cap of ${DEFAULT_MAX_JOB_PAYMENT[rail]} per job when no price cap is set: set one to pay more`);
  }
}

/** Why a deposit does not match the terms offered for its job; undefined when it does. */
export function depositMismatch(record: EscrowRecord, terms: EvmTerms): string | undefined {
  if (record.status !== 'deposited') return `the escrow holds ${record.status === 'none' ? 'no deposit' : `a ${record.status} deposit`} for the job`;
  if (!sameAddress(record.provider, terms.provider)) return `the deposit pays ${record.provider}, not the provider's ${terms.provider}`;
  if (!sameAddress(record.aggregator, terms.aggregator)) return `the deposit names aggregator ${record.aggregator}, not ${terms.aggregator}`;
  if (record.amount !== BigInt(terms.amount)) return `the deposit holds ${record.amount} for the provider, the terms ${terms.amount}`;
  if (record.fee !== BigInt(terms.fee)) return `the deposit holds a fee of ${record.fee}, the terms ${terms.fee}`;
  if (record.deadline !== BigInt(terms.deadline)) return `the deposit's deadline is ${record.deadline}, the terms' ${terms.deadline}`;
  return undefined;
}

function refuserFor(jobId: string): (reason: string) => never {
  return (reason) => {
    throw new PaymentTermsRefusedError(jobId, reason);
  };
}

function sameAddress(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}
