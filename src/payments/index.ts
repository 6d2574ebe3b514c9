// Payments for jobs: a stablecoin escrow on Polygon (contracts/JobEscrow.sol, driven with viem) and Lightning
// hold invoices through LND's REST API; a ledger in the node's PocketBase; a settlement service that pays a
// provider for a verified job and refunds the client otherwise, exactly once, across crashes.
export { EscrowClient, escrowJobKey, ESCROW_STATUS, type EscrowRecord, type EscrowStatus, type DepositParameters, type TxOutcome, type EscrowClientOptions } from './evm/escrow-client.js';
export { EscrowRail, SettlementPendingError } from './evm/escrow-rail.js';
export { EVM_NETWORKS, chainFor, type EvmNetwork, type EvmNetworkName } from './evm/evm-networks.js';
export { deployJobEscrow, deployTestToken, DeploymentFailedError } from './evm/deploy-contracts.js';
export { LndRestClient, lndConnectionFromFiles, type LndConnection, type Invoice, type InvoiceState, type PaymentUpdate } from './lightning/lnd-rest-client.js';
export { HoldInvoiceRail, JobInvoiceMissingError, JobInvoiceHashError, PreimageUnknownError } from './lightning/hold-invoice-rail.js';
export { newHoldSecret, runPreimageOf, runPaymentHashOf, paymentHashOf, preimageMatches, sealHoldSecret, openHoldSecret, HoldSecretInvalidError, PreimageMismatchError } from './lightning/run-preimage.js';
export { PaymentLedger, PaymentLedgerError, FINAL_PAYMENT_STATES, type Payment, type NewPayment, type PaymentRail, type PaymentUnit, type SettlementAction } from './ledger/payment-ledger.js';
export { SettlementService, type SettlementServiceOptions } from './settlement/settlement-service.js';
export { SettlementFeedReader } from './settlement/settlement-feed-reader.js';
export { settlementForVerdict, settlementForJobState, jobStateAfter } from './settlement/settlement-decision.js';
export type { SettlementRail, HeldFunds, RailSettlement } from './settlement/settlement-rail.js';
export { openEscrow, openEvmChain, openSettlement, WrongChainError, ChainUnreachableError, type NodeSettlement } from './open-payments.js';
export { loadWallet, initWallet, walletFilePath, type Wallet } from './wallet-file.js';
export * from './payment-errors.js';
export { jobAmount, feeFor, railOfPrice, RAIL_DECIMALS, UnpayablePriceError } from './terms/job-amount.js';
export { chooseRail, evmTermsFor, checkEvmTerms, checkLightningTerms, depositMismatch, PaymentTermsRefusedError, SETTLEMENT_WINDOW_S, MAX_ESCROW_HOLD_S, DEFAULT_MAX_JOB_PAYMENT, type RailChoice, type EvmTerms, type LightningTerms, type ClientPaymentPolicy, type MatchFacts } from './terms/payment-terms.js';
export { signPayoutStatement, readPayoutStatement, PayoutStatement, EVENT_KIND_PAYOUT_STATEMENT } from './terms/payout-statement.js';
export { EscrowTermsIssuer, type AggregatorPaymentTerms } from './terms/aggregator-terms.js';
export { HoldInvoicePayments, PaymentMissingError, type ProviderJobPayments } from './terms/provider-payments.js';
export { ClientJobPayer, openJobPayer, type JobPayer, type JobPayment } from './terms/job-payer.js';
export { decodeBolt11, InvalidInvoiceError, type DecodedInvoice } from './lightning/bolt11.js';
export { LndInvoicePayer, type LightningInvoicePayer } from './lightning/invoice-payer.js';
export { openNodeJobPayer, type NodeJobPayer } from './node-job-payer.js';
export { LedgeredJobPayer, withClientLedger } from './terms/ledgered-job-payer.js';
export { refundExpiredEscrows, type EscrowRefund, type EscrowRefundOutcome, type RefundExpiredEscrowsParameters, type RefundExpiredEscrowsReturnType } from './refund/refund-expired-escrows.js';
export { ExpiredEscrowSweep, startClientRefundSweep, REFUND_SWEEP_INTERVAL_MS, REFUND_SWEEP_MAX_PER_PASS, type ExpiredEscrowSweepOptions } from './refund/expired-escrow-sweep.js';
