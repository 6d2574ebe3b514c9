// The daemon's hook into Nostr Wallet Connect: with `payments.lightning` and `payments.nwc` set, the node serves
// its own LND to the connections in its wallet file, for as long as it runs.
import { dirname, join } from 'node:path';
import type { NodeConfig, NodeHome } from '../../config/index.js';
import type { Logger } from '../../log/index.js';
import { LndRestClient, lndConnectionFromFiles } from '../lightning/lnd-rest-client.js';
import { walletFilePath } from '../wallet-file.js';
import { NwcClient, type NwcClientOptions } from './nwc-client.js';
import { ensureServiceKey, readNwcSection } from './nwc-connections.js';
import { NwcWalletService } from './nwc-service.js';

export const NWC_SPENDING_FILE = 'nwc-spending.json';

/** Starts the wallet service, or returns undefined when the config asks for none. */
export async function startNodeNwc(options: { home: NodeHome; config: NodeConfig; logger: Logger }): Promise<NwcWalletService | undefined> {
  const payments = options.config.payments;
  if (!payments?.nwc) return undefined;
  const logger = options.logger.child({ component: 'nwc' });
  if (!payments.lightning) {
    logger.warn('payments.nwc is set but payments.lightning is not: no wallet to serve over Nostr Wallet Connect');
    return undefined;
  }
  const walletPath = walletFilePath(options.home, options.config);
  const lnd = new LndRestClient(await lndConnectionFromFiles(payments.lightning.restUrl, payments.lightning.tlsCertPath, payments.lightning.macaroonPath));
  return NwcWalletService.start({
    serviceSecret: await ensureServiceKey(walletPath),
    relays: payments.nwc.relays,
    walletPath,
    spendingPath: join(dirname(walletPath), NWC_SPENDING_FILE),
    lnd,
    logger,
    feeLimitSat: payments.nwc.feeLimitSat,
  });
}

/**
 * The wallet this node pays Lightning invoices through over NWC (`infernet wallet connect --pay-with URI`), as a
 * LightningInvoicePayer for the job payer; undefined when none is set. The caller closes it.
 */
export async function openNwcInvoicePayer(options: { home: NodeHome; config: NodeConfig; logger: Logger } & Omit<NwcClientOptions, 'logger'>): Promise<NwcClient | undefined> {
  const { home, config, logger, ...clientOptions } = options;
  const payWith = (await readNwcSection(walletFilePath(home, config)))?.payWith;
  if (!payWith) return undefined;
  return NwcClient.connect(payWith.uri, { ...clientOptions, logger: logger.child({ component: 'nwc-client' }) });
}
