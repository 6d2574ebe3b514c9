// Attack 12 of the threat model: deposits stuck. A greedy aggregator takes a client's escrow deposit and never
// settles it; the client process dies between sending its deposit and writing its ledger. On the real local chain
// (hardhat) with a real PocketBase: the deposit is in the ledger before the transaction is sent, `infernet wallet
// refund` gets every expired deposit back (and is a no-op run twice), and the sweep does it unasked after a restart.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import YAML from 'yaml';
import { loadNodeConfig, nodeHome } from '../../src/config/index.js';
import { silentLogger } from '../../src/log/index.js';
import { openNodeStore } from '../../src/node/node-store.js';
import { EscrowClient, ExpiredEscrowSweep, LedgeredJobPayer, loadWallet, PaymentLedger, walletFilePath, type JobPayer, type JobPayment } from '../../src/payments/index.js';
import { startLocalChain, type LocalChain } from '../../src/payments/evm/local-chain.js';
import type { PaymentTerms } from '../../src/protocol/index.js';
import { usePocketBaseFixture } from '../../src/storage/test-fixture.js';
import { runCli } from '../support/cli.js';

const pocketBase = usePocketBaseFixture();
const AMOUNT = 40_000n;
const FEE = 2_000n;
const HOLD_S = 600;

/** A client that dies right after its deposit is mined: the money moved, and nothing after it ran. */
class DyingPayer implements JobPayer {
  readonly rails = ['evm'] as const;
  constructor(private readonly escrow: EscrowClient) {}
  async pay(terms: PaymentTerms, job: { jobId: string }): Promise<JobPayment> {
    if (terms.rail !== 'evm') throw new Error('evm only');
    await this.escrow.deposit({ jobId: job.jobId, provider: terms.provider as `0x${string}`, aggregator: terms.aggregator as `0x${string}`, amount: AMOUNT, fee: FEE, deadline: BigInt(terms.deadline) });
    throw new Error('the client process died after its deposit was mined');
  }
}

describe('attack 12: deposits stuck in the escrow', () => {
  let dir: string;
  let chain: LocalChain;
  /** The greedy aggregator: named in every deposit, it never releases nor refunds. */
  let greedy: `0x${string}`;
  const provider = `0x${'7a'.repeat(20)}` as const;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'infernet-adversary-refund-'));
    chain = await startLocalChain();
    greedy = (await chain.newAccount()).account.address;
  });
  after(async () => {
    await chain?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const chainNow = async () => Number((await chain.reader.getBlock()).timestamp);
  const termsFor = async (): Promise<PaymentTerms> => ({ rail: 'evm', chainId: chain.chain.id, escrow: chain.escrow, token: chain.token, provider, aggregator: greedy, amount: AMOUNT.toString(), fee: FEE.toString(), deadline: (await chainNow()) + HOLD_S });
  const facts = (jobId: string) => ({ jobId, maxTokens: 16, jobDeadlineMs: Date.now() + 60_000, provider: 'ab'.repeat(32) });

  it('the ledger knows of a deposit before its transaction is sent, so a crash after it loses no money', async () => {
    const { server } = await pocketBase();
    const { account } = await chain.newAccount(1_000_000n);
    const escrow = new EscrowClient({ chain: chain.chain, rpcUrl: chain.rpcUrl, escrow: chain.escrow, token: chain.token, account, pollingIntervalMs: 50 });
    const ledger = new PaymentLedger(server.client);
    const jobId = randomUUID();
    await assert.rejects(new LedgeredJobPayer(new DyingPayer(escrow), ledger, silentLogger()).pay(await termsFor(), facts(jobId)), /died/);
    assert.equal((await escrow.escrowOf(jobId)).status, 'deposited', 'the money is in the escrow');
    const row = await ledger.find(jobId, 'client', 'evm');
    assert.ok(row, 'and the ledger says so');
    assert.equal(row.amount, AMOUNT + FEE);
    assert.equal(row.details.phase, 'depositing', 'written before the deposit was sent');
  });

  it('`infernet wallet refund` returns every expired deposit of the client, once, and names the ones still running', async () => {
    const home = join(dir, 'client');
    const init = await runCli(['init', '--home', home, '--role', 'client']);
    assert.equal(init.code, 0, init.stderr);
    const configFile = join(home, 'config.yaml');
    const config = YAML.parse(await readFile(configFile, 'utf8')) as Record<string, unknown>;
    config.payments = { evm: { network: 'local', rpcUrl: chain.rpcUrl, token: chain.token, escrow: chain.escrow } };
    await writeFile(configFile, YAML.stringify(config));
    const wallet = await runCli(['wallet', 'init', '--home', home, '--json']);
    assert.equal(wallet.code, 0, wallet.stderr);
    const node = nodeHome(home);
    const key = (await loadWallet(walletFilePath(node, await loadNodeConfig(node)))).evm!;
    await chain.mintTokens(key.address, 1_000_000n);
    await chain.reader.request({ method: 'hardhat_setBalance' as 'eth_chainId', params: [key.address, '0x56BC75E2D63100000'] as never });
    const escrow = new EscrowClient({ chain: chain.chain, rpcUrl: chain.rpcUrl, escrow: chain.escrow, token: chain.token, account: key, pollingIntervalMs: 50 });

    // Two deposits the greedy aggregator sits on, both through a client that died after paying.
    const store = await openNodeStore(node, await loadNodeConfig(node), silentLogger());
    const jobs = [randomUUID(), randomUUID()];
    try {
      for (const jobId of jobs) await assert.rejects(new LedgeredJobPayer(new DyingPayer(escrow), new PaymentLedger(store.pocketbase!), silentLogger()).pay(await termsFor(), facts(jobId)), /died/);
    } finally {
      await store.close();
    }
    const before = await escrow.tokenBalance(key.address);

    const early = await runCli(['wallet', 'refund', '--home', home, '--json']);
    assert.equal(early.code, 0, early.stderr);
    const waiting = JSON.parse(early.stdout) as { refunds: Array<{ jobId: string; outcome: string }> };
    assert.deepEqual(waiting.refunds.map((refund) => refund.outcome).sort(), ['not-expired', 'not-expired'], early.stdout);
    assert.equal(await escrow.tokenBalance(key.address), before, 'nothing refunded before the deadline');

    await chain.increaseTime(HOLD_S + 5);
    const refunded = await runCli(['wallet', 'refund', '--home', home, '--json']);
    assert.equal(refunded.code, 0, refunded.stderr);
    const report = JSON.parse(refunded.stdout) as { refunds: Array<{ jobId: string; outcome: string; amount?: string; txHash?: string }> };
    assert.deepEqual(report.refunds.map((refund) => [refund.jobId, refund.outcome, refund.amount]).sort(), jobs.map((jobId) => [jobId, 'refunded', (AMOUNT + FEE).toString()]).sort());
    assert.equal(await escrow.tokenBalance(key.address), before + 2n * (AMOUNT + FEE), 'every token back with the client');
    for (const jobId of jobs) assert.equal((await escrow.escrowOf(jobId)).status, 'refunded');

    const again = await runCli(['wallet', 'refund', '--home', home, '--job', jobs[0]!, '--json']);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual((JSON.parse(again.stdout) as { refunds: Array<{ outcome: string }> }).refunds.map((refund) => refund.outcome), ['already-refunded'], 'run twice, nothing moves twice');
    const history = JSON.parse((await runCli(['wallet', 'history', '--home', home, '--json'])).stdout) as Array<{ jobId: string; state: string }>;
    for (const jobId of jobs) assert.equal(history.find((payment) => payment.jobId === jobId)?.state, 'refunded');
  });

  it('the sweep refunds an expired deposit unasked, continuing from the ledger after a restart, a bounded number per pass', async () => {
    const { server } = await pocketBase();
    const { account } = await chain.newAccount(1_000_000n);
    const escrow = new EscrowClient({ chain: chain.chain, rpcUrl: chain.rpcUrl, escrow: chain.escrow, token: chain.token, account, pollingIntervalMs: 50 });
    const ledger = new PaymentLedger(server.client);
    const jobs = [randomUUID(), randomUUID(), randomUUID()];
    for (const jobId of jobs) await assert.rejects(new LedgeredJobPayer(new DyingPayer(escrow), ledger, silentLogger()).pay(await termsFor(), facts(jobId)), /died/);
    const before = await escrow.tokenBalance(account.address);
    await chain.increaseTime(HOLD_S + 5);
    // A fresh sweep, as after a restart: all it knows is the ledger.
    const sweep = new ExpiredEscrowSweep({ escrow, ledger, logger: silentLogger(), maxPerPass: 2 });
    assert.equal((await sweep.runOnce()).filter((refund) => refund.outcome === 'refunded').length, 2, 'at most maxPerPass refunds in one pass');
    assert.equal((await sweep.runOnce()).filter((refund) => refund.outcome === 'refunded').length, 1);
    assert.deepEqual(await sweep.runOnce(), [], 'nothing left: a further pass sends nothing');
    assert.equal(await escrow.tokenBalance(account.address), before + 3n * (AMOUNT + FEE));
    for (const jobId of jobs) assert.equal((await ledger.find(jobId, 'client', 'evm'))?.state, 'refunded');
  });
});
