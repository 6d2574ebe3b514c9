// A client's money back from escrows nobody settled. JobEscrow lets the client refund a deposit once its deadline
// has passed (`refund`), so an aggregator that takes a deposit and then never releases nor refunds it cannot keep
// the money stuck. Reads the client's ledger for deposits still open (and the job named, ledger or not), asks the
// chain for each, refunds those past their deadline, and writes what the chain says to the ledger: idempotent,
// since the chain is read before anything is sent and a settled escrow is only recorded.
import type { Hash } from 'viem';
import type { Logger } from '../../log/index.js';
import type { EscrowClient } from '../evm/escrow-client.js';
import type { Payment, PaymentLedger } from '../ledger/payment-ledger.js';

export type EscrowRefundOutcome =
  /** Refunded now, by this call. */
  | 'refunded'
  /** Refunded earlier (by this client, or by the aggregator after a failed check). */
  | 'already-refunded'
  /** Released to the provider: nothing to get back. */
  | 'released'
  /** Still in the escrow, its deadline not reached: the aggregator may settle it until then. */
  | 'not-expired'
  /** No deposit on chain for this job (the transaction never mined, or was never sent). */
  | 'never-deposited'
  /** Deposited by another address: only its client (or the aggregator) can refund it. */
  | 'not-ours'
  /** The refund could not be sent now; the next call tries again. */
  | 'failed';

export interface EscrowRefund {
  jobId: string;
  outcome: EscrowRefundOutcome;
  /** Micro-units returned (refunded) or held (not-expired). */
  amount?: string;
  txHash?: Hash;
  /** The escrow's deadline, unix seconds. */
  deadline?: number;
  error?: string;
}

export interface RefundExpiredEscrowsParameters {
  /** The client's escrow client, with its wallet key. */
  escrow: EscrowClient;
  /** The client's ledger: where open deposits are found and outcomes written. Without it only `jobId` is handled. */
  ledger?: PaymentLedger;
  /** Only this job (looked up on chain even if the ledger has no row for it). */
  jobId?: string;
  /** Refund transactions sent at most in one call (default 50): a sweep's pass stays short. */
  maxRefunds?: number;
  logger?: Logger;
}

export type RefundExpiredEscrowsReturnType = EscrowRefund[];

/** How long past its deadline a deposit still 'pending' in the ledger and absent on chain is given up as never made. */
const NEVER_MINED_GRACE_S = 3600;
const DEFAULT_MAX_REFUNDS = 50;

export async function refundExpiredEscrows(params: RefundExpiredEscrowsParameters): Promise<RefundExpiredEscrowsReturnType> {
  const { escrow, ledger } = params;
  const client = escrow.address;
  if (!client) throw new Error('refunds need the client wallet key: this escrow client has none');
  const open = ledger ? await ledger.list({ states: ['pending', 'held'], limit: 1000, ...(params.jobId ? { jobId: params.jobId } : {}) }) : [];
  const rows = new Map(open.filter((payment) => payment.role === 'client' && payment.rail === 'evm').map((payment) => [payment.jobId, payment]));
  const jobIds = params.jobId ? [params.jobId] : [...rows.keys()];
  const chainNow = Number((await escrow.public.getBlock({ blockTag: 'latest' })).timestamp);
  const maxRefunds = params.maxRefunds ?? DEFAULT_MAX_REFUNDS;
  const results: EscrowRefund[] = [];
  let sent = 0;
  for (const jobId of jobIds) {
    const row = rows.get(jobId) ?? (params.jobId && ledger ? await ledger.find(jobId, 'client', 'evm') : undefined);
    const record = await escrow.escrowOf(jobId);
    const deadline = Number(record.deadline);
    const total = (record.amount + record.fee).toString();
    if (record.status === 'none') {
      const promised = Number(row?.details.deadline ?? 0);
      if (row?.state === 'pending' && promised && chainNow > promised + NEVER_MINED_GRACE_S) await ledger!.updateState(row, 'failed', { details: { phase: 'never-deposited' } });
      results.push({ jobId, outcome: 'never-deposited' });
      continue;
    }
    if (record.client.toLowerCase() !== client.toLowerCase()) {
      results.push({ jobId, outcome: 'not-ours', deadline });
      continue;
    }
    if (record.status === 'released' || record.status === 'refunded') {
      const txHash = await escrow.settlementTx(jobId).catch(() => undefined);
      if (row && !isFinal(row)) await ledger!.updateState(row, record.status, { ...(txHash ? { reference: txHash } : {}), details: { phase: record.status } });
      results.push({ jobId, outcome: record.status === 'released' ? 'released' : 'already-refunded', amount: total, ...(txHash ? { txHash } : {}), deadline });
      continue;
    }
    // Deposited. The contract compares with the next block's time, which is later than the latest block's.
    if (chainNow <= deadline) {
      if (row?.state === 'pending') await ledger!.updateState(row, 'held', { details: { phase: 'deposited' } });
      results.push({ jobId, outcome: 'not-expired', amount: total, deadline });
      continue;
    }
    if (sent >= maxRefunds) continue;
    sent++;
    try {
      const tx = await escrow.refund(jobId);
      if (row) await ledger!.updateState(row, 'refunded', { reference: tx.hash, details: { phase: 'refunded', refundedBy: 'client' } });
      params.logger?.info({ jobId, amount: total, tx: tx.hash }, 'expired escrow deposit refunded');
      results.push({ jobId, outcome: 'refunded', amount: total, txHash: tx.hash, deadline });
    } catch (error) {
      // The aggregator may have settled it meanwhile; the next call reads the chain again and records that.
      params.logger?.warn({ jobId, err: (error as Error).message }, 'cannot refund an expired escrow deposit now');
      results.push({ jobId, outcome: 'failed', amount: total, deadline, error: (error as Error).message });
    }
  }
  return results;
}

function isFinal(payment: Payment): boolean {
  return payment.state === 'released' || payment.state === 'refunded' || payment.state === 'failed';
}
