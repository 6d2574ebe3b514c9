// Builds a node's payment parts from its config and wallet file: the escrow client, the ledger in its
// PocketBase, and the settlement service that the daemon ties to job transitions and verification outcomes.
import type PocketBase from 'pocketbase';
import { createPublicClient, http, type Chain } from 'viem';
import type { NodeConfig, NodeHome, PaymentsConfig } from '../config/index.js';
import type { JobRole } from '../jobs/job-record.js';
import type { JobStore } from '../jobs/job-store.js';
import type { Logger } from '../log/index.js';
import { EscrowClient } from './evm/escrow-client.js';
import { EscrowRail } from './evm/escrow-rail.js';
import { chainFor, EVM_NETWORKS } from './evm/evm-networks.js';
import { PaymentLedger, type Payment } from './ledger/payment-ledger.js';
import { PaymentsNotConfiguredError, WalletConfigError } from './payment-errors.js';
import { SettlementService } from './settlement/settlement-service.js';
import type { SettlementRail } from './settlement/settlement-rail.js';
import { loadWallet, walletFilePath, type Wallet } from './wallet-file.js';
import { InfernetError } from '../errors/index.js';

export class WrongChainError extends InfernetError {
  override readonly name = 'WrongChainError';
  constructor(readonly rpcUrl: string, readonly expected: number, readonly actual: number) {
    super('internal', `${rpcUrl} serves chain ${actual}, but payments.evm expects chain ${expected}: fix payments.evm.rpcUrl or chainId`);
  }
}

export class ChainUnreachableError extends InfernetError {
  override readonly name = 'ChainUnreachableError';
  constructor(readonly rpcUrl: string, options?: ErrorOptions) {
    super('internal', `cannot reach the chain at ${rpcUrl} (payments.evm.rpcUrl): is the RPC endpoint up?`, options);
  }
}

/** The configured chain (its id checked against the RPC endpoint) and stablecoin. */
export async function openEvmChain(evm: NonNullable<PaymentsConfig['evm']>): Promise<{ chain: Chain; token: `0x${string}` }> {
  const network = EVM_NETWORKS[evm.network];
  const token = evm.token ?? network.defaultToken;
  if (!token) throw new PaymentsNotConfiguredError(`payments.evm.token (no default stablecoin on the ${evm.network} network)`);
  const expected = evm.chainId ?? network.chainId;
  const chain = { ...chainFor(evm.network, evm.rpcUrl), id: expected };
  const actual = await createPublicClient({ chain, transport: http(evm.rpcUrl) })
    .getChainId()
    .catch((cause: unknown) => {
      throw new ChainUnreachableError(evm.rpcUrl, { cause });
    });
  if (actual !== expected) throw new WrongChainError(evm.rpcUrl, expected, actual);
  return { chain, token: token as `0x${string}` };
}

/** The escrow client for the configured chain, with the wallet's key when it has one. */
export async function openEscrow(evm: NonNullable<PaymentsConfig['evm']>, wallet: Wallet): Promise<EscrowClient> {
  if (!evm.escrow) throw new PaymentsNotConfiguredError('payments.evm.escrow (deploy one with `infernet wallet deploy`)');
  const { chain, token } = await openEvmChain(evm);
  return new EscrowClient({ chain, rpcUrl: evm.rpcUrl, escrow: evm.escrow as `0x${string}`, token, ...(wallet.evm ? { account: wallet.evm } : {}) });
}

export interface NodeSettlement {
  service: SettlementService;
  ledger: PaymentLedger;
  escrow?: EscrowClient;
}

/**
 * The settlement service of an aggregator with `payments.evm` configured, or undefined when the node takes no
 * part in payments. Settling needs the node's PocketBase (the ledger) and a wallet key (to sign releases).
 */
export async function openSettlement(options: {
  home: NodeHome;
  config: NodeConfig;
  pocketbase: PocketBase | undefined;
  jobs: JobStore;
  role: JobRole;
  logger: Logger;
  onFinal?: (payment: Payment) => void;
}): Promise<NodeSettlement | undefined> {
  const payments = options.config.payments;
  if (!payments?.evm) return undefined;
  if (!options.pocketbase) throw new PaymentsNotConfiguredError('a PocketBase store (payments keep their ledger there; storage.backend: file cannot)');
  const wallet = await loadWallet(walletFilePath(options.home, options.config));
  if (!wallet.evm) throw new WalletConfigError(`${wallet.path} has no evm.privateKey: the aggregator signs releases and refunds with it (\`infernet wallet init --home ${options.home.dir}\`)`);
  const escrow = await openEscrow(payments.evm, wallet);
  const rails: SettlementRail[] = [new EscrowRail(escrow)];
  const ledger = new PaymentLedger(options.pocketbase);
  const service = new SettlementService({ ledger, rails, role: options.role, jobs: options.jobs, logger: options.logger.child({ component: 'payments' }), ...(options.onFinal ? { onFinal: options.onFinal } : {}) });
  return { service, ledger, escrow };
}
