// The JobEscrow contract on a real local chain (hardhat node), driven through the EscrowClient.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { createWalletClient, http, type Account } from 'viem';
import { EscrowRevertedError, InsufficientAllowanceError, InsufficientGasFundsError, InsufficientTokenBalanceError } from '../payment-errors.js';
import { jobEscrowAbi } from './contract-artifacts.js';
import { deployJobEscrow } from './deploy-contracts.js';
import { EscrowClient, escrowJobKey } from './escrow-client.js';
import type { LocalChain } from './local-chain.js';
import { useLocalChain } from './test-fixture.js';

const localChain = useLocalChain();
const AMOUNT = 2_500_000n; // 2.5 USDC to the provider
const FEE = 125_000n; // 0.125 USDC to the aggregator

interface Parties {
  chain: LocalChain;
  escrow: `0x${string}`;
  client: EscrowClient;
  aggregator: EscrowClient;
  stranger: EscrowClient;
  provider: `0x${string}`;
}

/** Fresh accounts on the file's escrow, or (ownEscrow) on an escrow of their own that holds nothing else. */
async function parties(clientTokens = 10_000_000n, ownEscrow = false): Promise<Parties> {
  const chain = await localChain();
  const [client, aggregator, stranger, provider] = await Promise.all([
    chain.newAccount(clientTokens),
    chain.newAccount(),
    chain.newAccount(),
    chain.newAccount(),
  ]);
  const deployer = createWalletClient({ chain: chain.chain, transport: http(chain.rpcUrl), account: stranger.account });
  const escrow = ownEscrow ? await deployJobEscrow(deployer, chain.reader, chain.token) : chain.escrow;
  const connect = (account: Account) => new EscrowClient({ chain: chain.chain, rpcUrl: chain.rpcUrl, escrow, token: chain.token, account, pollingIntervalMs: 50 });
  return { chain, escrow, client: connect(client.account), aggregator: connect(aggregator.account), stranger: connect(stranger.account), provider: provider.account.address };
}

async function deposited(p: Parties, deadlineInS = 3600): Promise<string> {
  const jobId = randomUUID();
  const block = await p.chain.reader.getBlock();
  await p.client.deposit({ jobId, provider: p.provider, aggregator: p.aggregator.address!, amount: AMOUNT, fee: FEE, deadline: block.timestamp + BigInt(deadlineInS) });
  return jobId;
}

/** Waits (bounded) until a transaction to `to` waits in the mempool of a chain that does not automine. */
async function pendingTransactionTo(chain: LocalChain, to: `0x${string}`): Promise<void> {
  for (let polls = 0; polls < 400; polls++) {
    const pending = await chain.reader.getBlock({ blockTag: 'pending', includeTransactions: true });
    if (pending.transactions.some((tx) => tx.to?.toLowerCase() === to.toLowerCase())) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no transaction to ${to} reached the mempool`);
}

async function rejects(promise: Promise<unknown>, reason: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => error instanceof EscrowRevertedError && error.reason === reason);
}

describe('JobEscrow on a local chain', () => {
  it('pays the provider its amount and the aggregator its fee, exactly, on release after a deposit', async () => {
    const p = await parties();
    const jobId = await deposited(p);
    assert.equal(await p.client.tokenBalance(p.chain.escrow), AMOUNT + FEE);
    assert.equal((await p.client.escrowOf(jobId)).status, 'deposited');
    const tx = await p.aggregator.release(jobId);
    assert.ok(tx.gasUsed > 0n);
    assert.equal(await p.client.tokenBalance(p.provider), AMOUNT);
    assert.equal(await p.client.tokenBalance(p.aggregator.address!), FEE);
    assert.equal(await p.client.tokenBalance(p.client.address!), 10_000_000n - AMOUNT - FEE);
    assert.equal(await p.client.tokenBalance(p.chain.escrow), 0n);
    assert.equal((await p.client.escrowOf(jobId)).status, 'released');
    assert.equal(await p.client.settlementTx(jobId), tx.hash);
  });

  it('refunds the client everything after the deadline, and not before', async () => {
    const p = await parties();
    const jobId = await deposited(p, 60);
    await rejects(p.client.refund(jobId), 'DeadlineNotReached');
    await p.chain.increaseTime(61);
    await p.client.refund(jobId);
    assert.equal(await p.client.tokenBalance(p.client.address!), 10_000_000n);
    assert.equal(await p.client.tokenBalance(p.provider), 0n);
    assert.equal((await p.client.escrowOf(jobId)).status, 'refunded');
  });

  it('lets the aggregator refund at once when verification fails', async () => {
    const p = await parties();
    const jobId = await deposited(p);
    await p.aggregator.refund(jobId);
    assert.equal(await p.client.tokenBalance(p.client.address!), 10_000_000n);
  });

  it('reverts a second release of the same job', async () => {
    const p = await parties();
    const jobId = await deposited(p);
    await p.aggregator.release(jobId);
    await rejects(p.aggregator.release(jobId), 'AlreadySettled');
    assert.equal(await p.client.tokenBalance(p.provider), AMOUNT);
  });

  it('reverts a release by anyone but the job aggregator, the client included', async () => {
    const p = await parties();
    const jobId = await deposited(p);
    await rejects(p.stranger.release(jobId), 'NotAggregator');
    await rejects(p.client.release(jobId), 'NotAggregator');
    await rejects(p.stranger.refund(jobId), 'NotClientOrAggregator');
    assert.equal((await p.client.escrowOf(jobId)).status, 'deposited');
  });

  it('reverts a release after a refund, and a refund after a release', async () => {
    const p = await parties();
    const refunded = await deposited(p);
    await p.aggregator.refund(refunded);
    await rejects(p.aggregator.release(refunded), 'AlreadySettled');
    const released = await deposited(p);
    await p.aggregator.release(released);
    await rejects(p.aggregator.refund(released), 'AlreadySettled');
    await p.chain.increaseTime(3601);
    await rejects(p.client.refund(released), 'AlreadySettled');
  });

  it('reverts a release after the deadline, so a late aggregator cannot race the client refund', async () => {
    const p = await parties();
    const jobId = await deposited(p, 60);
    await p.chain.increaseTime(61);
    await rejects(p.aggregator.release(jobId), 'DeadlinePassed');
  });

  it('reverts a second deposit for the same job and releases of unknown jobs', async () => {
    const p = await parties(20_000_000n);
    const jobId = await deposited(p);
    const block = await p.chain.reader.getBlock();
    await rejects(p.client.deposit({ jobId, provider: p.provider, aggregator: p.aggregator.address!, amount: 1n, fee: 0n, deadline: block.timestamp + 60n }), 'JobAlreadyExists');
    await rejects(p.aggregator.release(randomUUID()), 'UnknownJob');
  });

  it('releases a batch of jobs in one transaction, and reverts the whole batch when one is settled', async () => {
    const p = await parties(20_000_000n);
    const jobs = [await deposited(p), await deposited(p), await deposited(p)];
    await p.aggregator.release(jobs[2]!);
    await rejects(p.aggregator.releaseBatch(jobs), 'AlreadySettled');
    await p.aggregator.releaseBatch(jobs.slice(0, 2));
    assert.equal(await p.client.tokenBalance(p.provider), AMOUNT * 3n);
  });

  it('mines a deposit estimated while the escrow held tokens that a refund mined first has taken out', async () => {
    // Failover: the client deposits for attempt 2 while the aggregator refunds attempt 1. Filling the escrow's
    // emptied balance costs more gas than the estimate saw; an exact estimate ran the token call out of gas.
    const p = await parties(10_000_000n, true);
    const lost = await deposited(p);
    const block = await p.chain.reader.getBlock();
    await p.chain.setAutomine(false);
    try {
      const next = p.client.deposit({ jobId: `${lost}~2`, provider: p.provider, aggregator: p.aggregator.address!, amount: AMOUNT, fee: FEE, deadline: block.timestamp + 3600n });
      await pendingTransactionTo(p.chain, p.chain.token); // its approve
      await p.chain.mine();
      await pendingTransactionTo(p.chain, p.escrow); // the deposit, its gas estimated with the escrow holding `lost`
      // The refund outbids it, so the block runs the refund first.
      const aggregator = createWalletClient({ chain: p.chain.chain, transport: http(p.chain.rpcUrl), account: p.aggregator.options.account! });
      await aggregator.writeContract({ address: p.escrow, abi: jobEscrowAbi, functionName: 'refund', args: [escrowJobKey(lost)], maxPriorityFeePerGas: 10n ** 10n, maxFeePerGas: 10n ** 11n });
      await p.chain.mine();
      await next;
    } finally {
      await p.chain.setAutomine(true);
    }
    assert.equal((await p.client.escrowOf(lost)).status, 'refunded');
    assert.equal((await p.client.escrowOf(`${lost}~2`)).status, 'deposited');
    assert.equal(await p.client.tokenBalance(p.escrow), AMOUNT + FEE);
  });

  it('names the problem before sending a deposit the client cannot fund', async () => {
    const p = await parties(1_000_000n);
    const block = await p.chain.reader.getBlock();
    const params = { jobId: randomUUID(), provider: p.provider, aggregator: p.aggregator.address!, fee: 0n, deadline: block.timestamp + 60n };
    await assert.rejects(p.client.deposit({ ...params, amount: 2_000_000n }), (error: unknown) => {
      assert.ok(error instanceof InsufficientTokenBalanceError);
      assert.equal(error.balance, 1_000_000n);
      assert.match(error.message, /holds 1\.000000 tUSDC but the deposit needs 2\.000000 tUSDC/);
      return true;
    });
    await assert.rejects(p.client.deposit({ ...params, amount: 500_000n, approve: false }), InsufficientAllowanceError);
    const { account: broke } = await p.chain.newAccount(0n);
    await p.chain.mintTokens(broke.address, 1_000_000n);
    await p.chain.reader.request({ method: 'hardhat_setBalance' as 'eth_chainId', params: [broke.address, '0x0'] as never });
    const brokeClient = new EscrowClient({ chain: p.chain.chain, rpcUrl: p.chain.rpcUrl, escrow: p.chain.escrow, token: p.chain.token, account: broke });
    await assert.rejects(brokeClient.deposit({ ...params, amount: 500_000n }), InsufficientGasFundsError);
  });
});
