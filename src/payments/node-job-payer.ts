// The payer of the jobs a node submits (the CLI's submit, the daemon's OpenAI API and batches): escrow deposits
// through its wallet, hold invoices through the wallet set with `infernet wallet connect --pay-with`, else its LND.
import type { NodeConfig, NodeHome } from '../config/index.js';
import type { Logger } from '../log/index.js';
import { openNwcInvoicePayer } from './nwc/node-nwc.js';
import { openJobPayer, type JobPayer } from './terms/job-payer.js';

export interface NodeJobPayer {
  payer: JobPayer;
  /** Closes the NWC wallet's relay connections, if any. */
  close(): void;
}

/** Undefined when the node's config has nothing to pay with; throws when its payments section cannot pay. */
export async function openNodeJobPayer(options: { home: NodeHome; config: NodeConfig; logger: Logger }): Promise<NodeJobPayer | undefined> {
  if (!options.config.payments) return undefined;
  const nwc = await openNwcInvoicePayer(options);
  const payer = await openJobPayer(options.home, options.config, nwc).catch((error: unknown) => {
    nwc?.close();
    throw error;
  });
  if (!payer) {
    nwc?.close();
    return undefined;
  }
  return { payer, close: () => nwc?.close() };
}
