// The daemon's hook into payments: an aggregator with `payments.evm` gets a job store that settles each job's
// escrow when the job ends, and resumes the settlements a previous run left unfinished.
import { rolesOf, type NodeConfig, type NodeHome } from '../config/index.js';
import type { Logger } from '../log/index.js';
import type { NodeMetrics } from '../metrics/index.js';
import type { NodeStore } from '../node/node-store.js';
import type { VerificationOutcome } from '../verification/verification-outcome.js';
import type { Payment } from './ledger/payment-ledger.js';
import { openSettlement, type NodeSettlement } from './open-payments.js';
import { paymentMetricOf } from './settlement/payment-metrics.js';
import { SettlingJobStore } from './settlement/settling-job-store.js';

const SETTLEMENT_RETRY_MS = 60_000;

/** What the daemon hands settlement once it exists: its verification outcomes and its metrics. */
export interface SettlementDaemonHooks {
  onVerification: (listener: (outcome: VerificationOutcome) => void) => () => void;
  metrics: Pick<NodeMetrics, 'paymentAmounts'>;
}

export type SettlingNodeStore = NodeStore & {
  settlement?: NodeSettlement;
  /** Verification outcomes decide releases from now on; final payments are counted in the metrics. */
  attachSettlement?: (daemon: SettlementDaemonHooks) => void;
};

/** The node store itself when this node settles nothing; else one whose job transitions settle payments. */
export async function withSettlement(nodeStore: NodeStore, options: { home: NodeHome; config: NodeConfig; logger: Logger }): Promise<SettlingNodeStore> {
  if (!rolesOf(options.config.role).aggregator || !options.config.payments?.evm) return nodeStore;
  const logger = options.logger.child({ component: 'payments' });
  let metrics: SettlementDaemonHooks['metrics'] | undefined;
  const onFinal = (payment: Payment) => {
    const metric = paymentMetricOf(payment);
    if (metric) metrics?.paymentAmounts.inc({ direction: metric.direction, currency: metric.currency }, metric.amount);
  };
  const settlement = await openSettlement({ ...options, pocketbase: nodeStore.pocketbase, jobs: nodeStore.store, role: 'aggregator', logger, onFinal }).catch(async (error: unknown) => {
    await nodeStore.close();
    throw error;
  });
  if (!settlement) return nodeStore;
  const store = new SettlingJobStore(nodeStore.store, { role: 'aggregator', settlement: settlement.service, logger });
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
    store,
    settlement,
    attachSettlement: (daemon) => {
      metrics = daemon.metrics;
      store.settleOutcomesFrom(daemon.onVerification);
    },
    close: async () => {
      clearInterval(retries);
      await resumed;
      await retrying;
      await store.drain();
      await nodeStore.close();
    },
  };
}
