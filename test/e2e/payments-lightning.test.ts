// Lightning hold invoices as job escrow on a real regtest network (btcd + two LND nodes built from their Go
// modules by scripts/setup-lightning.sh, one network for the whole suite). Bob is the provider: his node makes
// a hold invoice per job and his settlement service settles it for a verified run or cancels it for a failed
// one, driven here by the verdict directly (the daemon wiring for Lightning is the escrow's, not yet this rail's).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '../../src/log/index.js';
import { ChannelCapacityError, HoldInvoiceRail, PaymentLedger, SettlementService } from '../../src/payments/index.js';
import { CHANNEL_SAT, startRegtestNetwork, type RegtestNetwork } from '../../src/payments/lightning/regtest-network.js';
import { usePocketBaseFixture } from '../../src/storage/test-fixture.js';
import { eventually } from '../support/cli.js';

const pocketbase = usePocketBaseFixture();
const PRICE_SAT = 2_100n;

describe('Lightning hold invoices on regtest (btcd + 2 LND over REST)', () => {
  let network: RegtestNetwork;
  let ledger: PaymentLedger;
  let rail: HoldInvoiceRail;
  const service = () => new SettlementService({ ledger, rails: [rail], role: 'provider', logger: silentLogger() });

  before(async () => {
    network = await startRegtestNetwork();
    ledger = new PaymentLedger((await pocketbase()).server.client);
    rail = new HoldInvoiceRail(network.bob.client, ledger);
  });
  after(async () => {
    await network?.stop();
  });

  /** Alice pays bob's hold invoice for a job; resolves once bob's node holds the payment (ACCEPTED). */
  async function payJob(jobId: string): Promise<{ paymentHash: string }> {
    const { paymentRequest, paymentHash } = await rail.invoiceFor(jobId, PRICE_SAT);
    const inFlight = await network.alice.client.payInvoice(paymentRequest, { until: (update) => update.status === 'IN_FLIGHT' });
    assert.equal(inFlight.status, 'IN_FLIGHT');
    await eventually(async () => (await network.bob.client.lookupInvoice(paymentHash)).state === 'ACCEPTED', 20_000, 'bob to hold the payment');
    return { paymentHash };
  }

  it('settles the hold invoice of a verified run: alice pays exactly the price, bob receives it, once', async () => {
    const jobId = randomUUID();
    const aliceBefore = await network.alice.client.channelBalance();
    const bobBefore = await network.bob.client.channelBalance();
    const { paymentHash } = await payJob(jobId);
    assert.equal((await rail.inspect(jobId)).status, 'held');
    const [payment] = await service().settleOutcome({ runJobId: jobId, verdict: 'verified', provider: '' });
    assert.equal(payment?.state, 'released');
    assert.equal((await network.alice.client.trackPayment(paymentHash)).status, 'SUCCEEDED');
    assert.equal((await network.bob.client.lookupInvoice(paymentHash)).state, 'SETTLED');
    await eventually(async () => (await network.bob.client.channelBalance()).localSat === bobBefore.localSat + PRICE_SAT, 10_000, "bob's balance");
    assert.equal((await network.alice.client.channelBalance()).localSat, aliceBefore.localSat - PRICE_SAT, 'a direct channel charges no routing fee');
    const again = await service().settleOutcome({ runJobId: jobId, verdict: 'failed', provider: '' });
    assert.equal(again[0]?.state, 'released', 'a later verdict does not undo a settlement');
  });

  it('cancels the hold invoice of a run whose verification failed: alice gets every satoshi back', async () => {
    const jobId = randomUUID();
    const aliceBefore = await network.alice.client.channelBalance();
    const { paymentHash } = await payJob(jobId);
    const [payment] = await service().settleOutcome({ runJobId: jobId, verdict: 'failed', provider: '' });
    assert.equal(payment?.state, 'refunded');
    assert.equal((await network.alice.client.trackPayment(paymentHash)).status, 'FAILED');
    assert.equal((await network.bob.client.lookupInvoice(paymentHash)).state, 'CANCELED');
    await eventually(async () => (await network.alice.client.channelBalance()).localSat === aliceBefore.localSat, 10_000, "alice's refund");
  });

  it('settles, once, a release decided by a provider process that died before revealing the preimage', async () => {
    const jobId = randomUUID();
    const { paymentHash } = await payJob(jobId);
    const held = await ledger.find(jobId, 'provider', 'lightning');
    await ledger.decide(held!, 'release');
    const resumed = await service().resume();
    assert.deepEqual(resumed.filter((payment) => payment.jobId === jobId).map((payment) => payment.state), ['released']);
    assert.equal((await network.bob.client.lookupInvoice(paymentHash)).state, 'SETTLED');
    await service().resume();
    assert.equal((await ledger.list({ jobId })).length, 1);
  });

  it('makes one invoice per job however often it is asked (the preimage is recorded before LND sees the hash)', async () => {
    const jobId = randomUUID();
    const first = await rail.invoiceFor(jobId, PRICE_SAT);
    const second = await rail.invoiceFor(jobId, PRICE_SAT);
    assert.deepEqual(second, first);
    assert.equal((await network.bob.client.lookupInvoice(first.paymentHash)).state, 'OPEN');
  });

  it('refuses, before sending anything, a payment larger than any channel can carry', async () => {
    const { paymentRequest } = await network.bob.client.addInvoice(CHANNEL_SAT * 2n, 'too big');
    await assert.rejects(network.alice.client.payInvoice(paymentRequest), (error: unknown) => {
      assert.ok(error instanceof ChannelCapacityError);
      assert.match(error.message, /no channel can carry 2000000 sat/);
      return true;
    });
  });
});
