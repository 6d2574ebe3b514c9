// Payments for jobs: a stablecoin escrow on Polygon (contracts/JobEscrow.sol, driven with viem) and Lightning
// hold invoices through LND's REST API; a ledger in the node's PocketBase; a settlement service that pays a
// provider for a verified job and refunds the client otherwise, exactly once, across crashes.
export { EscrowClient, escrowJobKey, ESCROW_STATUS, type EscrowRecord, type EscrowStatus, type DepositParameters, type TxOutcome, type EscrowClientOptions } from './evm/escrow-client.js';
export { EscrowRail, SettlementPendingError } from './evm/escrow-rail.js';
export { EVM_NETWORKS, chainFor, type EvmNetwork, type EvmNetworkName } from './evm/evm-networks.js';
export { deployJobEscrow, deployTestToken, DeploymentFailedError } from './evm/deploy-contracts.js';
export { LndRestClient, lndConnectionFromFiles, type LndConnection, type Invoice, type InvoiceState, type PaymentUpdate } from './lightning/lnd-rest-client.js';
export { HoldInvoiceRail, JobInvoiceMissingError } from './lightning/hold-invoice-rail.js';
export { PaymentLedger, PaymentLedgerError, FINAL_PAYMENT_STATES, type Payment, type NewPayment, type PaymentRail, type PaymentUnit, type SettlementAction } from './ledger/payment-ledger.js';
export { SettlementService, type SettlementServiceOptions } from './settlement/settlement-service.js';
export { SettlingJobStore } from './settlement/settling-job-store.js';
export { settlementForVerdict, settlementForJobState, jobStateAfter } from './settlement/settlement-decision.js';
export type { SettlementRail, HeldFunds, RailSettlement } from './settlement/settlement-rail.js';
export { openEscrow, openEvmChain, openSettlement, WrongChainError, ChainUnreachableError, type NodeSettlement } from './open-payments.js';
export { withSettlement, type SettlingNodeStore } from './node-settlement.js';
export { loadWallet, initWallet, walletFilePath, type Wallet } from './wallet-file.js';
export * from './payment-errors.js';
