// The settlement service against a real PocketBase ledger and a real local chain: exactly-once settlement,
// including after a process dies between its decision and the chain, or with a transaction still unmined.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { silentLogger } from '../../log/index.js';
import { PocketBaseJobStore } from '../../storage/index.js';
import { usePocketBaseFixture } from '../../storage/test-fixture.js';
import { EscrowClient } from '../evm/escrow-client.js';
import { EscrowRail } from '../evm/escrow-rail.js';
import { useLocalChain } from '../evm/test-fixture.js';
import { PaymentLedger } from '../ledger/payment-ledger.js';
import { SettlementService } from './settlement-service.js';

const pocketbase = usePocketBaseFixture();
const localChain = useLocalChain();
const AMOUNT = 1_000_000n;
const FEE = 50_000n;

async function setUp() {
  const [pb, chain] = await Promise.all([pocketbase(), localChain()]);
  const connect = (account: EscrowClient['options']['account']) => new EscrowClient({ chain: chain.chain, rpcUrl: chain.rpcUrl, escrow: chain.escrow, token: chain.token, pollingIntervalMs: 50, ...(account ? { account } : {}) });
  const [client, aggregator, provider] = await Promise.all([chain.newAccount(10_000_000n), chain.newAccount(), chain.newAccount()]);
  const clientEscrow = connect(client.account);
  const aggregatorEscrow = connect(aggregator.account);
  const jobs = new PocketBaseJobStore(pb.server.client);
  const ledger = new PaymentLedger(pb.server.client);
  const service = () => new SettlementService({ ledger, rails: [new EscrowRail(aggregatorEscrow)], role: 'aggregator', jobs, logger: silentLogger() });
  const paidJob = async (state: 'completed' | 'failed' | 'verifying' = 'completed') => {
    const jobId = randomUUID();
    const block = await chain.reader.getBlock();
    await clientEscrow.deposit({ jobId, provider: provider.account.address, aggregator: aggregator.account.address, amount: AMOUNT, fee: FEE, deadline: block.timestamp + 3600n });
    await jobs.create({ jobId, role: 'aggregator', model: 'stories260K', provider: 'ab'.repeat(32), state: 'running' });
    await jobs.transition(jobId, 'aggregator', state);
    return jobId;
  };
  const providerBalance = () => clientEscrow.tokenBalance(provider.account.address);
  return { chain, jobs, ledger, service, paidJob, providerBalance, clientEscrow, client: client.account.address };
}

describe('SettlementService', () => {
  it('releases a completed job once, records it and moves the job to settled, however often it is asked', async () => {
    const t = await setUp();
    const jobId = await t.paidJob();
    const settlement = t.service();
    const [first, second] = await Promise.all([settlement.settle(jobId, 'release'), settlement.settle(jobId, 'release')]);
    const again = await settlement.settle(jobId, 'refund');
    assert.equal(first[0]?.state, 'released');
    assert.equal(second[0]?.state, 'released');
    assert.equal(again[0]?.state, 'released', 'a later, different decision does not undo the first');
    assert.equal(await t.providerBalance(), AMOUNT);
    const rows = await t.ledger.list({ jobId });
    assert.equal(rows.length, 1);
    assert.equal(rows[0]?.amount, AMOUNT + FEE);
    assert.equal(rows[0]?.decision, 'release');
    assert.match(rows[0]!.reference, /^0x[0-9a-f]{64}$/);
    assert.equal((await t.jobs.get(jobId, 'aggregator'))?.state, 'settled');
  });

  it('refunds the client for a run whose verification failed, and moves the job to refunded', async () => {
    const t = await setUp();
    const jobId = await t.paidJob('failed');
    const [payment] = await t.service().settleOutcome({ runJobId: jobId, verdict: 'failed', provider: 'ab'.repeat(32) });
    assert.equal(payment?.state, 'refunded');
    assert.equal(await t.clientEscrow.tokenBalance(t.client), 10_000_000n);
    assert.equal(await t.providerBalance(), 0n);
    assert.equal((await t.jobs.get(jobId, 'aggregator'))?.state, 'refunded');
  });

  it('gives up, recorded as failed, a release the escrow refuses for good (past the deadline), instead of retrying it forever', async () => {
    const t = await setUp();
    const jobId = await t.paidJob();
    await t.chain.increaseTime(3601);
    const [payment] = await t.service().settle(jobId, 'release');
    assert.equal(payment?.state, 'failed');
    assert.match(String(payment?.details.reason), /DeadlinePassed/);
    assert.deepEqual((await t.ledger.undone()).filter((undone) => undone.jobId === jobId), []);
    await t.clientEscrow.refund(jobId);
    assert.equal(await t.clientEscrow.tokenBalance(t.client), 10_000_000n, 'the client refunds itself after the deadline');
  });

  it('leaves a run awaiting its verdict (verifying) held at a restart, and pays it once a verdict completes it', async () => {
    const t = await setUp();
    const jobId = await t.paidJob('verifying');
    const resumed = await t.service().resume();
    assert.deepEqual(resumed.filter((payment) => payment.jobId === jobId), []);
    assert.equal(await t.ledger.find(jobId, 'aggregator', 'evm'), undefined);
    assert.equal((await t.clientEscrow.escrowOf(jobId)).status, 'deposited');
    await t.jobs.transition(jobId, 'aggregator', 'completed');
    await t.service().resume();
    assert.equal(await t.providerBalance(), AMOUNT);
    assert.equal((await t.jobs.get(jobId, 'aggregator'))?.state, 'settled');
  });

  it('settles nothing for a job nobody paid for', async () => {
    const t = await setUp();
    const jobId = randomUUID();
    assert.deepEqual(await t.service().settle(jobId, 'release'), []);
    assert.deepEqual(await t.ledger.list({ jobId }), []);
  });

  it('carries out, once, a release decided by a process that died before sending it', async () => {
    const t = await setUp();
    const jobId = await t.paidJob();
    // What the dead process left: the payment recorded and the decision written, nothing on chain.
    const held = await t.ledger.record({ jobId, role: 'aggregator', direction: 'incoming', rail: 'evm', amount: AMOUNT + FEE, unit: 'micro-usdc', state: 'held', counterparty: '' });
    await t.ledger.decide(held, 'release');
    const resumed = await t.service().resume();
    assert.deepEqual(resumed.map((payment) => [payment.jobId, payment.state]).filter(([id]) => id === jobId), [[jobId, 'released']]);
    await t.service().resume();
    assert.equal(await t.providerBalance(), AMOUNT);
    assert.equal((await t.ledger.find(jobId, 'aggregator', 'evm'))?.state, 'released');
  });

  it('pays once, sending nothing more, when a release sent before a crash is still unmined at the restart', async () => {
    const t = await setUp();
    const jobId = await t.paidJob();
    await t.chain.setAutomine(false);
    const pendingCount = async () => (await t.chain.reader.getBlock({ blockTag: 'pending' })).transactions.length;
    try {
      const dying = t.service().settle(jobId, 'release').catch((error: Error) => error);
      await waitFor(async () => (await pendingCount()) > 0);
      // The first process is gone (its promise abandoned); a new one resumes with the release in the mempool.
      const restarted = t.service().resume();
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      assert.equal(await pendingCount(), 1, 'the restarted service sent no second release');
      await t.chain.mine();
      await restarted;
      await dying;
    } finally {
      await t.chain.setAutomine(true);
    }
    assert.equal(await t.providerBalance(), AMOUNT);
    const payment = await t.ledger.find(jobId, 'aggregator', 'evm');
    assert.equal(payment?.state, 'released');
    assert.equal(payment?.reference, await t.clientEscrow.settlementTx(jobId));
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; ) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('condition not reached in time');
}
