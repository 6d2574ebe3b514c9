// The daemon's hook into payments: an aggregator with `payments.evm` gets a reader of the job event feed that
// settles each job's escrow when the job ends, and resumes the settlements a previous run left unfinished; it offers payment terms
// at match time. A provider tells its payout, and with `payments.lightning` makes and settles hold invoices.
import { rolesOf, type NodeConfig, type NodeHome } from '../config/index.js';
import { HoldInvoiceRail } from '../payments/lightning/hold-invoice-rail.js';
import { LndRestClient, lndConnectionFromFiles } from '../payments/lightning/lnd-rest-client.js';
import { PaymentLedger } from '../payments/ledger/payment-ledger.js';
import { PaymentsNotConfiguredError } from '../payments/payment-errors.js';
import { SettlementService } from '../payments/settlement/settlement-service.js';
import { EscrowTermsIssuer, type AggregatorPaymentTerms } from '../payments/terms/aggregator-terms.js';
import { HoldInvoicePayments, type ProviderJobPayments } from '../payments/terms/provider-payments.js';
import { EscrowDepositPayments } from '../payments/terms/escrow-deposit-check.js';
import { EscrowClient } from '../payments/evm/escrow-client.js';
import { openEvmChain } from '../payments/open-payments.js';
import { railOfPrice } from '../payments/terms/job-amount.js';
import { loadWallet, walletFilePath } from '../payments/wallet-file.js';
import type { Logger } from '../log/index.js';
import type { NodeMetrics } from '../metrics/index.js';
import type { NodeStore } from './node-store.js';
import type { VerificationOutcome } from '../verification/verification-outcome.js';
import type { Payment } from '../payments/ledger/payment-ledger.js';
import { openSettlement, type NodeSettlement } from '../payments/open-payments.js';
import { paymentMetricOf } from '../payments/settlement/payment-metrics.js';
import { SettlementFeedReader } from '../payments/settlement/settlement-feed-reader.js';
import type { JobFeedReader } from '../jobs/index.js';

const SETTLEMENT_RETRY_MS = 60_000;

/** What the daemon hands settlement once it exists: its verification outcomes and its metrics. */
export interface SettlementDaemonHooks {
  onVerification: (listener: (outcome: VerificationOutcome) => void) => () => void;
  metrics: Pick<NodeMetrics, 'paymentAmounts'>;
}

/** What the daemon's roles need of payments: the aggregator's terms and the provider's invoices and payout. */
export interface NodePaymentParts {
  aggregator?: AggregatorPaymentTerms;
  provider?: ProviderJobPayments;
  /** Where this provider is paid, told to aggregators in its capabilities. */
  payout?: { evm?: `0x${string}`; lightning?: boolean };
  /** This provider's LND node key, signed in its payout statement so that clients pay only its own invoices. */
  lightningNodeKey?: string;
}

export type SettlingNodeStore = NodeStore & {
  /** The readers of the job event feed that settle payments (the daemon's feed follows them). */
  feedReaders?: readonly JobFeedReader[];
  settlement?: NodeSettlement;
  payments?: NodePaymentParts;
  /** Verification outcomes decide releases from now on; final payments are counted in the metrics. */
  attachSettlement?: (daemon: SettlementDaemonHooks) => void;
};

/**
 * The node store itself when this node takes no part in payments; else it with the feed readers that settle them:
 * an aggregator with payments.evm settles escrows, a provider with payments.lightning its hold invoices.
 */
export async function withSettlement(nodeStore: NodeStore, options: { home: NodeHome; config: NodeConfig; logger: Logger }): Promise<SettlingNodeStore> {
  const payments = options.config.payments;
  if (!payments) return nodeStore;
  const roles = rolesOf(options.config.role);
  try {
    const asAggregator: SettlingNodeStore = roles.aggregator ? await withEscrowSettlement(nodeStore, options) : nodeStore;
    const withTerms: SettlingNodeStore = roles.aggregator
      ? { ...asAggregator, payments: { aggregator: new EscrowTermsIssuer({ ...(asAggregator.settlement?.escrow ? { escrow: asAggregator.settlement.escrow } : {}), feeBps: payments.feeBps, lightning: true, ...(asAggregator.settlement ? { settlement: asAggregator.settlement.service } : {}) }) } }
      : asAggregator;
    return roles.provider ? await withProviderPayments(withTerms, options) : withTerms;
  } catch (error) {
    await nodeStore.close();
    throw error;
  }
}

/**
 * A provider's payout (capabilities) and, with payments.lightning and a price in sat, hold invoices made at match
 * time and settled on its aggregator's verdicts.
 */
async function withProviderPayments(nodeStore: SettlingNodeStore, options: { home: NodeHome; config: NodeConfig; logger: Logger }): Promise<SettlingNodeStore> {
  const payments = options.config.payments!;
  const evm = payments.payoutAddress ?? (await loadWallet(walletFilePath(options.home, options.config))).evm?.address;
  const price = options.config.provider.price;
  // Hold invoices only for a price in sat: a provider paid through the escrow needs no LND for its jobs.
  const invoices = Boolean(payments.lightning && price && railOfPrice(price) === 'lightning');
  const payout = { ...(evm ? { evm: evm as `0x${string}` } : {}), ...(invoices ? { lightning: true } : {}) };
  const parts: NodePaymentParts = { ...nodeStore.payments, payout };
  // A price in USDC with an escrow to read: every offer must come with a deposit to this payout, seen on its own chain.
  if (price && railOfPrice(price) === 'evm' && payments.evm?.escrow && evm) {
    const { chain, token } = await openEvmChain(payments.evm);
    const escrow = new EscrowClient({ chain, rpcUrl: payments.evm.rpcUrl, escrow: payments.evm.escrow as `0x${string}`, token });
    parts.provider = new EscrowDepositPayments({ price, payout: evm as `0x${string}`, escrow });
    options.logger.child({ component: 'payments' }).info({ escrow: payments.evm.escrow, payout: evm }, 'payments: offers run only with a deposit in the escrow');
  } else if (price && railOfPrice(price) === 'evm') {
    options.logger.child({ component: 'payments' }).warn('a price in USDC with no payments.evm.escrow to read: offers run without this provider seeing their deposit');
  }
  if (!invoices || !payments.lightning) return { ...nodeStore, payments: parts };
  if (!nodeStore.pocketbase) throw new PaymentsNotConfiguredError('a PocketBase store (hold invoices keep their preimages in its ledger; storage.backend: file cannot)');
  const logger = options.logger.child({ component: 'payments' });
  const lnd = new LndRestClient(await lndConnectionFromFiles(payments.lightning.restUrl, payments.lightning.tlsCertPath, payments.lightning.macaroonPath));
  // Unknown (LND down at start): clients then refuse to pay this provider's invoices, which is safe, and it is logged.
  const nodeKey = await lnd.getInfo().then((info) => info.identityPubkey, (error: Error) => void logger.warn({ err: error.message }, 'cannot read the LND node key: clients will not pay hold invoices until a restart'));
  if (nodeKey) parts.lightningNodeKey = nodeKey;
  const ledger = new PaymentLedger(nodeStore.pocketbase);
  const rail = new HoldInvoiceRail(lnd, ledger, 'provider');
  const service = new SettlementService({ ledger, rails: [rail], role: 'provider', jobs: nodeStore.store, logger });
  // A completed job's invoice waits for its verdict (job.outcome from the aggregator); failures cancel it at once.
  const reader = new SettlementFeedReader({ role: 'provider', settlement: service, outcomesDecideRelease: true, logger });
  const resumed = service.resume().catch((error: Error) => logger.error({ err: error.message, name: error.name }, 'cannot resume hold-invoice settlements'));
  parts.provider = new HoldInvoicePayments({ ...(price ? { price } : {}), lnd, ledger, rail, settlement: service });
  logger.info({ lnd: payments.lightning.restUrl }, 'payments: hold invoices for jobs as provider');
  return {
    ...nodeStore,
    feedReaders: [...(nodeStore.feedReaders ?? []), reader],
    payments: parts,
    close: async () => {
      await resumed;
      await reader.drain();
      await nodeStore.close();
    },
  };
}

/** An aggregator with payments.evm: a feed reader that settles each job's escrow when the job ends. */
async function withEscrowSettlement(nodeStore: NodeStore, options: { home: NodeHome; config: NodeConfig; logger: Logger }): Promise<SettlingNodeStore> {
  if (!options.config.payments?.evm) return nodeStore;
  const logger = options.logger.child({ component: 'payments' });
  let metrics: SettlementDaemonHooks['metrics'] | undefined;
  const onFinal = (payment: Payment) => {
    const metric = paymentMetricOf(payment);
    if (metric) metrics?.paymentAmounts.inc({ direction: metric.direction, currency: metric.currency }, metric.amount);
  };
  const settlement = await openSettlement({ ...options, pocketbase: nodeStore.pocketbase, jobs: nodeStore.store, role: 'aggregator', logger, onFinal });
  if (!settlement) return nodeStore;
  // The witness's verification outcomes decide a completed run's release (attachSettlement below wires them).
  const reader = new SettlementFeedReader({ role: 'aggregator', settlement: settlement.service, outcomesDecideRelease: true, logger });
  const resumed = settlement.service.resume().then(
    (payments) => payments.length && logger.info({ payments: payments.length }, 'settlements resumed'),
    (error: Error) => logger.error({ err: error.message, name: error.name }, 'cannot resume settlements; decided ones are retried every minute'),
  );
  // A settlement that failed after its decision (the RPC down, say) is tried again while the node runs.
  let retrying: Promise<unknown> | undefined;
  const retries = setInterval(() => {
    retrying ??= settlement.service
      .retryUndone()
      .catch((error: Error) => logger.warn({ err: error.message, name: error.name }, 'settlement retry failed'))
      .finally(() => (retrying = undefined));
  }, SETTLEMENT_RETRY_MS);
  retries.unref();
  logger.info({ escrow: settlement.escrow?.options.escrow, account: settlement.escrow?.address }, 'payments: settling escrows as aggregator');
  return {
    ...nodeStore,
    feedReaders: [reader],
    settlement,
    attachSettlement: (daemon) => {
      metrics = daemon.metrics;
      reader.settleOutcomesFrom(daemon.onVerification);
    },
    close: async () => {
      clearInterval(retries);
      await resumed;
      await retrying;
      await reader.drain();
      await nodeStore.close();
    },
  };
}
