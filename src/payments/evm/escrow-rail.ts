// The Polygon escrow as a settlement rail for the aggregator named in a job's deposit.
import { EscrowRevertedError } from '../payment-errors.js';
import type { HeldFunds, RailSettlement, SettlementRail } from '../settlement/settlement-rail.js';
import type { EscrowClient, TxOutcome } from './escrow-client.js';
import { InfernetError } from '../../errors/index.js';

/** How long to wait for a settlement already in the mempool before leaving it to the next attempt. */
const PENDING_SETTLEMENT_WAIT_MS = 120_000;
const PENDING_POLL_MS = 250;
const PERMANENT_REVERTS = new Set(['DeadlinePassed', 'NotAggregator', 'NotClientOrAggregator', 'UnknownJob']);

export class SettlementPendingError extends InfernetError {
  override readonly name = 'SettlementPendingError';
  constructor(readonly jobId: string, readonly waitedMs: number) {
    super('internal', `a settlement of job ${jobId} has waited in the mempool for ${waitedMs} ms without being mined; it is retried later`);
  }
}

export class EscrowRail implements SettlementRail {
  readonly rail = 'evm' as const;

  constructor(private readonly escrow: EscrowClient) {}

  async inspect(jobId: string): Promise<HeldFunds> {
    const record = await this.escrow.escrowOf(jobId);
    const mine = record.aggregator.toLowerCase() === this.escrow.address?.toLowerCase();
    if (record.status === 'none' || !mine) return { status: 'none', amount: 0n, unit: 'micro-usdc', details: {} };
    return {
      status: record.status === 'deposited' ? 'held' : record.status,
      amount: record.amount + record.fee,
      unit: 'micro-usdc',
      details: {
        chainId: this.escrow.options.chain.id,
        escrow: this.escrow.options.escrow,
        client: record.client,
        provider: record.provider,
        aggregator: record.aggregator,
        providerAmount: record.amount.toString(),
        fee: record.fee.toString(),
        deadline: Number(record.deadline),
      },
    };
  }

  release(jobId: string): Promise<RailSettlement> {
    return this.settleOnce(jobId, () => this.escrow.release(jobId));
  }

  refund(jobId: string): Promise<RailSettlement> {
    return this.settleOnce(jobId, () => this.escrow.refund(jobId));
  }

  /**
   * Sends the settlement unless one for this job already waits in the mempool (sent by this node before it
   * was killed): then it waits for that one to be mined instead of paying gas for a transaction that reverts.
   */
  private async settleOnce(jobId: string, send: () => Promise<TxOutcome>): Promise<RailSettlement> {
    if ((await this.escrow.escrowOf(jobId, 'pending')).status === 'deposited') {
      try {
        const tx = await send();
        return { reference: tx.hash, details: { gasUsed: tx.gasUsed.toString(), blockNumber: tx.blockNumber.toString() } };
      } catch (error) {
        if (!(error instanceof EscrowRevertedError && error.reason === 'AlreadySettled')) throw error;
      }
    }
    await this.waitUntilMined(jobId);
    const settled = await this.settledBy(jobId);
    if (!settled) throw new EscrowRevertedError('find the settlement of', jobId, 'no Released or Refunded event although the escrow is settled');
    return settled;
  }

  private async waitUntilMined(jobId: string): Promise<void> {
    for (const deadline = Date.now() + PENDING_SETTLEMENT_WAIT_MS; Date.now() < deadline; ) {
      if ((await this.escrow.escrowOf(jobId)).status !== 'deposited') return;
      await new Promise((resolve) => setTimeout(resolve, PENDING_POLL_MS));
    }
    throw new SettlementPendingError(jobId, PENDING_SETTLEMENT_WAIT_MS);
  }

  /** Refusals that hold forever: past the deadline only the client can refund; a job not ours stays not ours. */
  isPermanentFailure(error: unknown): boolean {
    return error instanceof EscrowRevertedError && PERMANENT_REVERTS.has(error.reason);
  }

  async settledBy(jobId: string): Promise<RailSettlement | undefined> {
    const hash = await this.escrow.settlementTx(jobId);
    return hash ? { reference: hash, details: { recoveredFromLogs: true } } : undefined;
  }
}
