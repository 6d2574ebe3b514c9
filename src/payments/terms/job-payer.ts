// The client's side of a paid match: checks the terms against its own config, then pays (an escrow deposit
// through its wallet, or the provider's hold invoice through its Lightning wallet) before the job is offered.
import type { NodeConfig, NodeHome } from '../../config/index.js';
import type { PaymentRailName, PaymentTerms } from '../../protocol/index.js';
import type { EscrowClient } from '../evm/escrow-client.js';
import { decodeBolt11 } from '../lightning/bolt11.js';
import { LndInvoicePayer, type LightningInvoicePayer } from '../lightning/invoice-payer.js';
import { LndRestClient, lndConnectionFromFiles } from '../lightning/lnd-rest-client.js';
import { openEscrow } from '../open-payments.js';
import { loadWallet, walletFilePath } from '../wallet-file.js';
import { checkEvmTerms, checkLightningTerms, PaymentTermsRefusedError, type ClientPaymentPolicy, type MatchFacts } from './payment-terms.js';

/** What the client paid for a job, as `infernet submit --json` shows it. */
export interface JobPayment {
  rail: PaymentRailName;
  /** Everything the client put up, in base units: the provider's amount plus the aggregator's fee on the escrow. */
  amount: string;
  unit: 'micro-usdc' | 'sat';
  /** held: in the escrow, or locked in the hold invoice's HTLC, until the aggregator or provider settles it. */
  state: 'held';
  /** The deposit's transaction hash (evm). */
  txHash?: string;
  /** The hold invoice's payment hash (lightning). */
  paymentHash?: string;
}

export interface JobPayer {
  /** The rails this client pays on, told to the aggregator in job.request. */
  readonly rails: readonly PaymentRailName[];
  /** Checks the terms (PaymentTermsRefusedError) and pays; payment failures keep their own names. */
  pay(terms: PaymentTerms, job: MatchFacts): Promise<JobPayment>;
}

export class ClientJobPayer implements JobPayer {
  readonly rails: readonly PaymentRailName[];
  /** Deposits one at a time: concurrent runs (a job and its checks) would race for the wallet's nonce and allowance. */
  private depositing: Promise<unknown> = Promise.resolve();

  constructor(private readonly parts: { escrow?: EscrowClient; lightning?: LightningInvoicePayer; maxFeeBps: number }) {
    this.rails = [...(parts.escrow ? (['evm'] as const) : []), ...(parts.lightning ? (['lightning'] as const) : [])];
  }

  get policy(): ClientPaymentPolicy {
    const escrow = this.parts.escrow;
    return {
      ...(escrow ? { evm: { chainId: escrow.options.chain.id, escrow: escrow.options.escrow, token: escrow.options.token } } : {}),
      lightning: Boolean(this.parts.lightning),
      maxFeeBps: this.parts.maxFeeBps,
    };
  }

  async pay(terms: PaymentTerms, job: MatchFacts): Promise<JobPayment> {
    if (terms.rail === 'evm') {
      checkEvmTerms(terms, this.policy, job);
      const amount = BigInt(terms.amount);
      const fee = BigInt(terms.fee);
      const deposit = () => this.parts.escrow!.deposit({ jobId: job.jobId, provider: terms.provider as `0x${string}`, aggregator: terms.aggregator as `0x${string}`, amount, fee, deadline: BigInt(terms.deadline) });
      const queued = this.depositing.catch(() => undefined).then(deposit);
      this.depositing = queued;
      const tx = await queued;
      return { rail: 'evm', amount: (amount + fee).toString(), unit: 'micro-usdc', state: 'held', txHash: tx.hash };
    }
    let invoice;
    try {
      invoice = decodeBolt11(terms.paymentRequest);
    } catch (error) {
      throw new PaymentTermsRefusedError(job.jobId, (error as Error).message);
    }
    checkLightningTerms(terms, invoice, this.policy, job);
    await this.parts.lightning!.payInvoice(terms.paymentRequest);
    return { rail: 'lightning', amount: terms.amountSat, unit: 'sat', state: 'held', paymentHash: terms.paymentHash };
  }
}

/** A client's fee bound when its config has no payments section (the schema's default). */
const DEFAULT_MAX_FEE_BPS = 1000;

/**
 * The payer of a client node: the escrow of payments.evm with the wallet's key, and for hold invoices the given
 * Lightning payer (a Nostr Wallet Connect wallet) or else its LND (payments.lightning). Undefined when the node
 * pays on no rail.
 */
export async function openJobPayer(home: NodeHome, config: NodeConfig, lightning?: LightningInvoicePayer): Promise<ClientJobPayer | undefined> {
  const payments = config.payments;
  let escrow: EscrowClient | undefined;
  if (payments?.evm?.escrow) {
    const wallet = await loadWallet(walletFilePath(home, config));
    if (wallet.evm) escrow = await openEscrow(payments.evm, wallet);
  }
  const lnd = !lightning && payments?.lightning ? new LndInvoicePayer(new LndRestClient(await lndConnectionFromFiles(payments.lightning.restUrl, payments.lightning.tlsCertPath, payments.lightning.macaroonPath))) : undefined;
  const invoices = lightning ?? lnd;
  if (!escrow && !invoices) return undefined;
  return new ClientJobPayer({ ...(escrow ? { escrow } : {}), ...(invoices ? { lightning: invoices } : {}), maxFeeBps: payments?.maxFeeBps ?? DEFAULT_MAX_FEE_BPS });
}
