// `infernet wallet`: the node's payment keys, balances (stablecoin on the configured chain, Lightning) and the
// payment history from its ledger.
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { createPublicClient, createWalletClient, http } from 'viem';
import YAML from 'yaml';
import { saveNodeConfig } from '../../config/index.js';
import { silentLogger } from '../../log/index.js';
import { openNodeStore } from '../../node/node-store.js';
import {
  deployJobEscrow,
  formatMicro,
  initWallet,
  lndConnectionFromFiles,
  LndRestClient,
  loadWallet,
  openEscrow,
  openEvmChain,
  PaymentLedger,
  refundExpiredEscrows,
  walletFilePath,
  type EscrowRefund,
  type Payment,
} from '../../payments/index.js';
import { EXIT_CODES } from '../../errors/index.js';
import { CliError } from '../cli-error.js';
import { WALLET_CONNECT_USAGE, walletConnectCommand } from './wallet-connect.js';
import { openNode, type OpenedNode } from '../open-node.js';

export const WALLET_USAGE = `infernet wallet balance --home DIR [--json]
infernet wallet history --home DIR [--json] [--limit N] [--job JOB_ID]
infernet wallet init --home DIR [--json]       (writes a fresh EVM key to the wallet file unless one exists)
infernet wallet deploy --home DIR [--json]     (deploys the JobEscrow with that key; writes payments.evm.escrow)
infernet wallet refund --home DIR [--job ID] [--json]  (refunds this client's escrow deposits past their deadline)
${WALLET_CONNECT_USAGE}`;

export async function walletCommand(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  // Nostr Wallet Connect has flags of its own (src/cli/commands/wallet-connect.ts).
  if (sub === 'connect') return walletConnectCommand(rest);
  const { values } = parseArgs({ args: rest, options: { home: { type: 'string' }, json: { type: 'boolean' }, limit: { type: 'string' }, job: { type: 'string' } } });
  const node = await openNode(values.home);
  if (sub === 'balance') return print(await balance(node), Boolean(values.json), printBalance);
  if (sub === 'history') return print(await history(node, values.limit, values.job), Boolean(values.json), printHistory);
  if (sub === 'deploy') return print(await deploy(node), Boolean(values.json), (result) => console.log(`deployed JobEscrow ${result.escrow} for token ${result.token} on chain ${result.chainId}; written to ${node.home.configFile}`));
  if (sub === 'refund') return print(await refund(node, values.job), Boolean(values.json), printRefunds);
  if (sub === 'init') return print(await init(node), Boolean(values.json), (result) => console.log(`${result.created ? 'created' : 'kept'} ${result.walletFile}: EVM address ${result.address}`));
  throw new CliError(`unknown wallet subcommand "${sub ?? ''}"; usage:\n${WALLET_USAGE}`, EXIT_CODES.usage);
}

interface BalanceReport {
  walletFile: string;
  evm?: { network: string; chainId: number; address: string | null; token: string; escrow: string; tokenBalance: string; tokenBalanceFormatted: string; nativeBalanceWei: string };
  lightning?: { pubkey: string; channelLocalSat: string; channelRemoteSat: string; onChainConfirmedSat: string };
  /** Totals of this node's ledger by state, per unit (amounts as decimal strings of the smallest unit). */
  ledger: Record<string, Record<string, string>>;
}

async function balance(node: OpenedNode): Promise<BalanceReport> {
  const payments = node.config.payments;
  if (!payments) throw new CliError(`${node.home.configFile} has no payments section: add payments.evm and/or payments.lightning`);
  const wallet = await loadWallet(walletFilePath(node.home, node.config));
  const report: BalanceReport = { walletFile: wallet.path, ledger: {} };
  if (payments.evm) {
    const escrow = await openEscrow(payments.evm, wallet);
    const address = wallet.evm?.address ?? null;
    const [tokenBalance, native] = address ? await Promise.all([escrow.tokenBalance(address), escrow.nativeBalance(address)]) : [0n, 0n];
    report.evm = {
      network: payments.evm.network,
      chainId: escrow.options.chain.id,
      address,
      token: escrow.options.token,
      escrow: escrow.options.escrow,
      tokenBalance: tokenBalance.toString(),
      tokenBalanceFormatted: formatMicro(tokenBalance),
      nativeBalanceWei: native.toString(),
    };
  }
  if (payments.lightning) {
    const lnd = new LndRestClient(await lndConnectionFromFiles(payments.lightning.restUrl, payments.lightning.tlsCertPath, payments.lightning.macaroonPath));
    const [info, channels, onChain] = await Promise.all([lnd.getInfo(), lnd.channelBalance(), lnd.walletBalance()]);
    report.lightning = { pubkey: info.identityPubkey, channelLocalSat: channels.localSat.toString(), channelRemoteSat: channels.remoteSat.toString(), onChainConfirmedSat: onChain.confirmedSat.toString() };
  }
  const totals: Record<string, Record<string, bigint>> = {};
  for (const payment of await withLedger(node, (ledger) => ledger.list({ limit: 1000 }))) {
    const byUnit = (totals[payment.state] ??= {});
    byUnit[payment.unit] = (byUnit[payment.unit] ?? 0n) + payment.amount;
  }
  for (const [state, byUnit] of Object.entries(totals)) report.ledger[state] = Object.fromEntries(Object.entries(byUnit).map(([unit, amount]) => [unit, amount.toString()]));
  return report;
}

/** A payment as the CLI shows it: amounts as decimal strings, and never the hold invoice's preimage. */
type PaymentView = Omit<Payment, 'amount' | 'details'> & { amount: string; details: Record<string, unknown> };

async function history(node: OpenedNode, limitFlag: string | undefined, jobId: string | undefined): Promise<PaymentView[]> {
  const limit = limitFlag === undefined ? 100 : Number(limitFlag);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new CliError(`--limit must be a whole number from 1 to 1000, got "${limitFlag}"`);
  const payments = await withLedger(node, (ledger) => ledger.list({ limit, ...(jobId ? { jobId } : {}) }));
  return payments.map(({ details, amount, ...payment }) => {
    const { preimage: _secret, ...shown } = details;
    return { ...payment, amount: amount.toString(), details: shown };
  });
}

async function init(node: OpenedNode): Promise<{ walletFile: string; address: string; created: boolean }> {
  const path = walletFilePath(node.home, node.config);
  const { wallet, created } = await initWallet(path);
  return { walletFile: path, address: wallet.evm!.address, created };
}

/** Deploys the escrow for the configured stablecoin, paid by the wallet's key, and records it in config.yaml. */
async function deploy(node: OpenedNode): Promise<{ escrow: string; token: string; chainId: number; deployer: string }> {
  const evm = node.config.payments?.evm;
  if (!evm) throw new CliError(`${node.home.configFile} has no payments.evm section: add network and rpcUrl first`);
  if (evm.escrow) throw new CliError(`${node.home.configFile} already names the escrow ${evm.escrow}: remove payments.evm.escrow to deploy another`);
  const wallet = await loadWallet(walletFilePath(node.home, node.config));
  if (!wallet.evm) throw new CliError(`${wallet.path} has no EVM key: run \`infernet wallet init --home ${node.home.dir}\` and fund its address first`);
  const { chain, token } = await openEvmChain(evm);
  const transport = http(evm.rpcUrl);
  const escrow = await deployJobEscrow(createWalletClient({ chain, transport, account: wallet.evm }), createPublicClient({ chain, transport }), token);
  const raw = YAML.parse(await readFile(node.home.configFile, 'utf8')) as { payments: { evm: Record<string, unknown> } };
  raw.payments.evm.escrow = escrow;
  await saveNodeConfig(node.home, raw);
  return { escrow, token, chainId: chain.id, deployer: wallet.evm.address };
}

/**
 * Refunds every escrow deposit of this client whose deadline passed unsettled (or only the job named), from the
 * ledger's open deposits; the chain is read first, so running it twice sends nothing twice.
 */
async function refund(node: OpenedNode, jobId: string | undefined): Promise<{ address: string; refunds: EscrowRefund[] }> {
  const evm = node.config.payments?.evm;
  if (!evm?.escrow) throw new CliError(`${node.home.configFile} has no payments.evm.escrow: this node has made no escrow deposits`);
  const wallet = await loadWallet(walletFilePath(node.home, node.config));
  if (!wallet.evm) throw new CliError(`${wallet.path} has no EVM key: only the key that deposited can refund`);
  const escrow = await openEscrow(evm, wallet);
  const opened = await openNodeStore(node.home, node.config, silentLogger());
  try {
    // Without a ledger (storage.backend: file) only a job named with --job can be found.
    if (!opened.pocketbase && !jobId) throw new CliError('this home keeps no payment ledger (storage.backend: file): name the job with --job ID');
    const ledger = opened.pocketbase ? new PaymentLedger(opened.pocketbase) : undefined;
    const refunds = await refundExpiredEscrows({ escrow, ...(ledger ? { ledger } : {}), ...(jobId ? { jobId } : {}) });
    return { address: wallet.evm.address, refunds };
  } finally {
    await opened.close();
  }
}

function printRefunds(report: { address: string; refunds: EscrowRefund[] }): void {
  if (!report.refunds.length) return console.log(`no open escrow deposits of ${report.address}`);
  for (const refund of report.refunds) {
    const deadline = refund.deadline ? `  deadline ${new Date(refund.deadline * 1000).toISOString()}` : '';
    console.log(`${refund.jobId}  ${refund.outcome.padEnd(16)} ${refund.amount ?? ''}${refund.amount ? ' micro-usdc' : ''}${refund.txHash ? `  tx ${refund.txHash}` : ''}${deadline}${refund.error ? `  (${refund.error})` : ''}`);
  }
}

async function withLedger<T>(node: OpenedNode, use: (ledger: PaymentLedger) => Promise<T>): Promise<T> {
  const opened = await openNodeStore(node.home, node.config, silentLogger());
  try {
    if (!opened.pocketbase) throw new CliError('payments are kept in the node\'s PocketBase; this home uses storage.backend: file');
    return await use(new PaymentLedger(opened.pocketbase));
  } finally {
    await opened.close();
  }
}

function print<T>(value: T, json: boolean, human: (value: T) => void): void {
  if (json) console.log(JSON.stringify(value, null, 2));
  else human(value);
}

function printBalance(report: BalanceReport): void {
  if (report.evm) console.log(`${report.evm.network} (chain ${report.evm.chainId})  ${report.evm.address ?? 'no key'}  ${report.evm.tokenBalanceFormatted} stablecoin  ${report.evm.nativeBalanceWei} wei for gas`);
  if (report.lightning) console.log(`lightning ${report.lightning.pubkey}  channels ${report.lightning.channelLocalSat} sat out / ${report.lightning.channelRemoteSat} sat in  on-chain ${report.lightning.onChainConfirmedSat} sat`);
  for (const [state, byUnit] of Object.entries(report.ledger)) console.log(`ledger ${state.padEnd(9)} ${Object.entries(byUnit).map(([unit, amount]) => `${amount} ${unit}`).join(', ')}`);
}

function printHistory(payments: PaymentView[]): void {
  if (!payments.length) return console.log('no payments yet');
  for (const payment of payments) {
    console.log(`${new Date(payment.createdAt).toISOString()}  ${payment.jobId}  ${payment.role.padEnd(10)} ${payment.rail.padEnd(9)} ${payment.state.padEnd(9)} ${payment.amount} ${payment.unit}  ${payment.reference}`);
  }
}
