// The client daemon's refund sweep: every few minutes, refunds the deposits of this client whose escrow deadline has
// passed unsettled. Nothing of its own to persist: the ledger rows it reads are its state, so a restarted daemon
// continues where the last one stopped, and each pass reads the chain before it sends anything (idempotent).
import type PocketBase from 'pocketbase';
import type { NodeConfig, NodeHome } from '../../config/index.js';
import type { Logger } from '../../log/index.js';
import type { EscrowClient } from '../evm/escrow-client.js';
import { PaymentLedger } from '../ledger/payment-ledger.js';
import { openEscrow } from '../open-payments.js';
import { loadWallet, walletFilePath } from '../wallet-file.js';
import { refundExpiredEscrows, type EscrowRefund } from './refund-expired-escrows.js';

/** How often a client daemon looks for expired deposits: escrow holds last minutes to hours. */
export const REFUND_SWEEP_INTERVAL_MS = 5 * 60_000;
/** Refund transactions one pass sends at most; the rest wait for the next pass. */
export const REFUND_SWEEP_MAX_PER_PASS = 10;

export interface ExpiredEscrowSweepOptions {
  escrow: EscrowClient;
  ledger: PaymentLedger;
  logger: Logger;
  intervalMs?: number;
  maxPerPass?: number;
}

export class ExpiredEscrowSweep {
  private timer?: NodeJS.Timeout;
  private running?: Promise<EscrowRefund[]>;

  constructor(private readonly options: ExpiredEscrowSweepOptions) {}

  /** Sweeps now, then every interval, until stop(). */
  start(): void {
    const pass = () => void this.runOnce().catch((error: Error) => this.options.logger.warn({ err: error.message }, 'escrow refund sweep failed; retried at the next pass'));
    pass();
    this.timer = setInterval(pass, this.options.intervalMs ?? REFUND_SWEEP_INTERVAL_MS).unref();
  }

  /** One pass; a pass still running is joined, never doubled. Refunds only (what waits is not reported). */
  async runOnce(): Promise<EscrowRefund[]> {
    this.running ??= refundExpiredEscrows({ escrow: this.options.escrow, ledger: this.options.ledger, maxRefunds: this.options.maxPerPass ?? REFUND_SWEEP_MAX_PER_PASS, logger: this.options.logger })
      .then((refunds) => refunds.filter((refund) => refund.outcome !== 'not-expired' && refund.outcome !== 'never-deposited' && refund.outcome !== 'not-ours'))
      .finally(() => (this.running = undefined));
    return this.running;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }
}

/**
 * The sweep of a node that pays for jobs on the escrow: started when it has payments.evm.escrow, a wallet key and a
 * ledger (storage in PocketBase); undefined otherwise. A chain unreachable now fails each pass, not the node.
 */
export async function startClientRefundSweep(options: { home: NodeHome; config: NodeConfig; pocketbase: PocketBase | undefined; logger: Logger }): Promise<ExpiredEscrowSweep | undefined> {
  const evm = options.config.payments?.evm;
  if (!evm?.escrow || !options.pocketbase) return undefined;
  const wallet = await loadWallet(walletFilePath(options.home, options.config));
  if (!wallet.evm) return undefined;
  const sweep = new ExpiredEscrowSweep({ escrow: await openEscrow(evm, wallet), ledger: new PaymentLedger(options.pocketbase), logger: options.logger.child({ component: 'refund-sweep' }) });
  sweep.start();
  return sweep;
}
