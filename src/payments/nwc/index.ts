// Nostr Wallet Connect (NIP-47): a client that pays through a wallet reached over Nostr relays, and a wallet
// service that serves the node's own LND to the apps its operator connects, within per-connection budgets.
export { NwcClient, type NwcClientOptions, type NwcPayment, type NwcWalletInfo, type NwcTransaction } from './nwc-client.js';
export { NwcWalletService, type NwcServiceOptions } from './nwc-service.js';
export { startNodeNwc, openNwcInvoicePayer, NWC_SPENDING_FILE } from './node-nwc.js';
export { parseNwcUri, formatNwcUri, NWC_URI_SCHEME, type NwcConnectionUri } from './nwc-uri.js';
export { createConnection, revokeConnection, setPayWith, readNwcSection, ensureServiceKey, DEFAULT_MAX_PAYMENT_SAT, DEFAULT_MAX_DAILY_SAT, type NwcConnection, type NewConnection } from './nwc-connections.js';
export { decideBudget, spentInWindow, BUDGET_WINDOW_MS, type ConnectionBudget, type SpendingEntry } from './nwc-budget.js';
export { NWC_INFO_KIND, NWC_REQUEST_KIND, NWC_RESPONSE_KIND, NWC_METHODS, type NwcEncryption, type NwcMethod } from './nwc-messages.js';
export * from './nwc-errors.js';
export type { LightningInvoicePayer } from '../lightning/invoice-payer.js';
