// The JobEscrow contract through viem: deposits (with the balance and allowance checked first, so a user gets
// a named error instead of a revert), releases, refunds and reads. Every write waits for its receipt and
// reports the gas it used.
import {
  BaseError,
  ContractFunctionRevertedError,
  createPublicClient,
  createWalletClient,
  http,
  InsufficientFundsError,
  keccak256,
  parseEventLogs,
  toBytes,
  type Account,
  type Chain,
  type Hash,
  type PublicClient,
  type Transport,
  type WalletClient,
} from 'viem';
import { EscrowRevertedError, InsufficientAllowanceError, InsufficientGasFundsError, InsufficientTokenBalanceError } from '../payment-errors.js';
import { jobEscrowAbi, testTokenAbi } from './contract-artifacts.js';

/** A transaction not mined in this long is left to the caller's retry (a settlement retries it by its status). */
const RECEIPT_TIMEOUT_MS = 180_000;

/**
 * Gas added to a write's estimate for each token balance that another account's transaction may empty or fill
 * between the estimate and the mining. Writing a balance that is zero costs 20,000 gas against 2,900 for one that
 * is not (EIP-2200), and the token call gets only 63/64 of the gas left: an exact estimate runs that call out of
 * gas and the escrow reverts without a reason (a client's deposit estimated while the escrow held a lost
 * attempt's tokens, mined after the aggregator's refund had emptied it). Unused gas is not charged.
 */
const GAS_PER_FLIPPABLE_BALANCE = 20_000n;

/** The contract's Status enum. */
export const ESCROW_STATUS = ['none', 'deposited', 'released', 'refunded'] as const;
export type EscrowStatus = (typeof ESCROW_STATUS)[number];

export interface EscrowRecord {
  client: `0x${string}`;
  provider: `0x${string}`;
  aggregator: `0x${string}`;
  amount: bigint;
  fee: bigint;
  /** Unix seconds. */
  deadline: bigint;
  status: EscrowStatus;
}

export interface TxOutcome {
  hash: Hash;
  gasUsed: bigint;
  blockNumber: bigint;
}

export interface DepositParameters {
  jobId: string;
  provider: `0x${string}`;
  aggregator: `0x${string}`;
  /** The provider's pay, micro-units. */
  amount: bigint;
  /** The aggregator's fee, micro-units. */
  fee: bigint;
  /** Unix seconds. */
  deadline: bigint;
  /** Approve the escrow for exactly what is missing before depositing (default true). */
  approve?: boolean;
}

/** One contract write: its gas estimate against the current state, and its sending with the gas to allow. */
interface EscrowWrite {
  /** Token balances the write changes that other accounts' transactions may move between zero and not. */
  flippableBalances: number;
  estimate: (account: Account) => Promise<bigint>;
  send: (gas: bigint) => Promise<Hash>;
}

export interface EscrowClientOptions {
  chain: Chain;
  rpcUrl: string;
  escrow: `0x${string}`;
  token: `0x${string}`;
  /** Needed for writes; reads work without. */
  account?: Account;
  /** How often to poll for receipts (ms). */
  pollingIntervalMs?: number;
}

/** The contract's key for a job: keccak256 of the job id's UTF-8 bytes. */
export function escrowJobKey(jobId: string): Hash {
  return keccak256(toBytes(jobId));
}

export class EscrowClient {
  readonly public: PublicClient<Transport, Chain>;
  private readonly wallet?: WalletClient<Transport, Chain, Account>;
  /** Writes one at a time: concurrent settlements from one account would race for its nonce. */
  private writing: Promise<unknown> = Promise.resolve();

  constructor(readonly options: EscrowClientOptions) {
    const transport = http(options.rpcUrl);
    const pollingInterval = options.pollingIntervalMs ?? 250;
    this.public = createPublicClient({ chain: options.chain, transport, pollingInterval });
    if (options.account) this.wallet = createWalletClient({ chain: options.chain, transport, account: options.account, pollingInterval });
  }

  get address(): `0x${string}` | undefined {
    return this.options.account?.address;
  }

  /** The job's escrow as of the latest block, or as of the pending one (transactions in the mempool applied). */
  async escrowOf(jobId: string, blockTag: 'latest' | 'pending' = 'latest'): Promise<EscrowRecord> {
    const raw = await this.public.readContract({ address: this.options.escrow, abi: jobEscrowAbi, functionName: 'escrowOf', args: [escrowJobKey(jobId)], blockTag });
    return { ...raw, status: ESCROW_STATUS[raw.status] ?? 'none' };
  }

  tokenBalance(address: `0x${string}`): Promise<bigint> {
    return this.public.readContract({ address: this.options.token, abi: testTokenAbi, functionName: 'balanceOf', args: [address] });
  }

  nativeBalance(address: `0x${string}`): Promise<bigint> {
    return this.public.getBalance({ address });
  }

  async deposit(params: DepositParameters): Promise<TxOutcome> {
    const owner = this.requireAccount().address;
    const needed = params.amount + params.fee;
    const balance = await this.tokenBalance(owner);
    if (balance < needed) throw new InsufficientTokenBalanceError(owner, balance, needed, await this.tokenSymbol());
    const allowance = await this.public.readContract({ address: this.options.token, abi: testTokenAbi, functionName: 'allowance', args: [owner, this.options.escrow] });
    if (allowance < needed) {
      if (params.approve === false) throw new InsufficientAllowanceError(owner, this.options.escrow, allowance, needed);
      await this.approve(needed);
    }
    const call = { address: this.options.escrow, abi: jobEscrowAbi, functionName: 'deposit', args: [escrowJobKey(params.jobId), params.provider, params.aggregator, params.amount, params.fee, params.deadline] } as const;
    // The escrow's own balance: other jobs' settlements may empty it before this deposit is mined.
    return this.write('deposit', params.jobId, {
      flippableBalances: 1,
      estimate: (account) => this.public.estimateContractGas({ ...call, account }),
      send: (gas) => this.wallet!.writeContract({ ...call, gas }),
    });
  }

  async approve(value: bigint): Promise<TxOutcome> {
    const call = { address: this.options.token, abi: testTokenAbi, functionName: 'approve', args: [this.options.escrow, value] } as const;
    // Only this account's allowance is written, and only this account changes it.
    return this.write('approve the escrow for', '-', {
      flippableBalances: 0,
      estimate: (account) => this.public.estimateContractGas({ ...call, account }),
      send: (gas) => this.wallet!.writeContract({ ...call, gas }),
    });
  }

  release(jobId: string): Promise<TxOutcome> {
    const call = { address: this.options.escrow, abi: jobEscrowAbi, functionName: 'release', args: [escrowJobKey(jobId)] } as const;
    // The provider's and the aggregator's balances, which they may spend or receive meanwhile.
    return this.write('release', jobId, {
      flippableBalances: 2,
      estimate: (account) => this.public.estimateContractGas({ ...call, account }),
      send: (gas) => this.wallet!.writeContract({ ...call, gas }),
    });
  }

  releaseBatch(jobIds: readonly string[]): Promise<TxOutcome> {
    const call = { address: this.options.escrow, abi: jobEscrowAbi, functionName: 'releaseBatch', args: [jobIds.map(escrowJobKey)] } as const;
    return this.write('release', jobIds.join(','), {
      flippableBalances: 2 * jobIds.length,
      estimate: (account) => this.public.estimateContractGas({ ...call, account }),
      send: (gas) => this.wallet!.writeContract({ ...call, gas }),
    });
  }

  refund(jobId: string): Promise<TxOutcome> {
    const call = { address: this.options.escrow, abi: jobEscrowAbi, functionName: 'refund', args: [escrowJobKey(jobId)] } as const;
    // The client's balance, which its other deposits may empty meanwhile.
    return this.write('refund', jobId, {
      flippableBalances: 1,
      estimate: (account) => this.public.estimateContractGas({ ...call, account }),
      send: (gas) => this.wallet!.writeContract({ ...call, gas }),
    });
  }

  /** The transaction that settled a job, found in the escrow's logs (e.g. after a crash lost its hash). */
  async settlementTx(jobId: string, fromBlock: bigint = 0n): Promise<Hash | undefined> {
    const key = escrowJobKey(jobId);
    const query = { address: this.options.escrow, args: { jobId: key }, fromBlock } as const;
    const [released, refunded] = await Promise.all([
      this.public.getLogs({ ...query, event: eventAbi('Released') }),
      this.public.getLogs({ ...query, event: eventAbi('Refunded') }),
    ]);
    return [...released, ...refunded].at(-1)?.transactionHash ?? undefined;
  }

  /** Token transfers out of the escrow in a receipt, for tests and the ledger's details. */
  async settledAmounts(hash: Hash): Promise<{ released: bigint; refunded: bigint }> {
    const receipt = await this.public.getTransactionReceipt({ hash });
    const events = parseEventLogs({ abi: jobEscrowAbi, logs: receipt.logs });
    let released = 0n;
    let refunded = 0n;
    for (const event of events) {
      if (event.eventName === 'Released') released += event.args.amount + event.args.fee;
      if (event.eventName === 'Refunded') refunded += event.args.total;
    }
    return { released, refunded };
  }

  private async tokenSymbol(): Promise<string> {
    return this.public.readContract({ address: this.options.token, abi: testTokenAbi, functionName: 'symbol' }).catch(() => 'tokens');
  }

  private requireAccount(): Account {
    if (!this.options.account || !this.wallet) throw new Error('this escrow client has no wallet key: writes need `payments.evm` keys in the wallet file');
    return this.options.account;
  }

  /**
   * Sends one transaction, with GAS_PER_FLIPPABLE_BALANCE above its estimate per balance others may change, and
   * waits for it. A revert, at estimation or on chain, becomes an EscrowRevertedError naming the contract's error;
   * missing gas money an InsufficientGasFundsError.
   */
  private write(operation: string, jobId: string, tx: EscrowWrite): Promise<TxOutcome> {
    const queued = this.writing.catch(() => undefined).then(() => this.writeNow(operation, jobId, tx));
    this.writing = queued;
    return queued;
  }

  private async writeNow(operation: string, jobId: string, tx: EscrowWrite): Promise<TxOutcome> {
    const account = this.requireAccount();
    let hash: Hash;
    try {
      const estimated = await tx.estimate(account);
      hash = await tx.send(estimated + GAS_PER_FLIPPABLE_BALANCE * BigInt(tx.flippableBalances));
    } catch (error) {
      throw this.explain(error, operation, jobId, account.address);
    }
    const receipt = await this.public.waitForTransactionReceipt({ hash, timeout: RECEIPT_TIMEOUT_MS });
    if (receipt.status !== 'success') throw new EscrowRevertedError(operation, jobId, `transaction ${hash} reverted`);
    return { hash, gasUsed: receipt.gasUsed, blockNumber: receipt.blockNumber };
  }

  private explain(error: unknown, operation: string, jobId: string, address: `0x${string}`): Error {
    if (!(error instanceof BaseError)) return error as Error;
    // Nodes word this differently (geth: "insufficient funds", hardhat: "doesn't have enough funds").
    if (error.walk((cause) => cause instanceof InsufficientFundsError) || /insufficient funds|doesn't have enough funds/i.test(error.message)) return new InsufficientGasFundsError(address, `${operation} job ${jobId}`, { cause: error });
    const reverted = error.walk((cause) => cause instanceof ContractFunctionRevertedError);
    if (reverted instanceof ContractFunctionRevertedError) {
      const reason = reverted.data?.errorName ?? reverted.reason ?? 'reverted';
      return new EscrowRevertedError(operation, jobId, reason, { cause: error });
    }
    return error;
  }
}

function eventAbi<Name extends 'Released' | 'Refunded'>(name: Name): Extract<(typeof jobEscrowAbi)[number], { type: 'event'; name: Name }> {
  return jobEscrowAbi.find((item) => item.type === 'event' && item.name === name) as Extract<(typeof jobEscrowAbi)[number], { type: 'event'; name: Name }>;
}
