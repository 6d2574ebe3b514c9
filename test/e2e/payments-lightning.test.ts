// Lightning hold invoices as job escrow on a real regtest network (btcd + two LND nodes built from their Go
// modules by scripts/setup-lightning.sh, one network for the whole suite). Bob is the provider: his node makes
// a hold invoice per job and his settlement service settles it for a verified run or cancels it for a failed
// one, first driven by the verdict directly, then end to end: a provider daemon (bob's LND, a price in sat) makes
// the invoice when its aggregator asks at match time, the client (alice's LND) pays it before offering the job,
// the provider runs it only once the invoice is ACCEPTED and settles it on the verdict its aggregator relays.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse, stringify } from 'yaml';
import { nodeHome, validateNodeConfig, type NodeConfigInput } from '../../src/config/index.js';
import { generateNodeKey, saveNodeKey } from '../../src/identity/index.js';
import { LlamaCppEngine } from '../../src/inference/index.js';
import { silentLogger } from '../../src/log/index.js';
import { sharedModelPath } from '../../src/models/shared-test-models.js';
import { JobFailedError, runJob, type JobOutcome } from '../../src/client/index.js';
import { NodeDaemon } from '../../src/node/node-daemon.js';
import { ChannelCapacityError, ClientJobPayer, HoldInvoiceRail, JobInvoiceHashError, newHoldSecret, paymentHashOf, PreimageMismatchError, LndInvoicePayer, PaymentLedger, SettlementService, type JobPayer, type JobPayment } from '../../src/payments/index.js';
import { JobSpec } from '../../src/protocol/index.js';
import { dialPeer, type PeerSession } from '../../src/transport/index.js';
import { CHANNEL_SAT, startRegtestNetwork, type RegtestNetwork } from '../../src/payments/lightning/regtest-network.js';
import { usePocketBaseFixture } from '../../src/storage/test-fixture.js';
import { eventually, runCli } from '../support/cli.js';

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
    await matchTime?.stop();
    await network?.stop();
  });

  /** A provider daemon on bob's LND charging 1000 sat per 1k tokens, an aggregator relaying its invoices, a client session. */
  let matchTime: { provider: NodeDaemon; session: PeerSession; aggregatorUrl: string; homes: string[]; stop: () => Promise<void> } | undefined;
  const clientKey = generateNodeKey();
  async function matchTimeNodes() {
    if (matchTime) return matchTime;
    const homes: string[] = [];
    const start = async (input: NodeConfigInput, engine?: LlamaCppEngine) => {
      const home = await mkdtemp(join(tmpdir(), 'infernet-ln-match-'));
      homes.push(home);
      const key = generateNodeKey();
      await saveNodeKey(nodeHome(home).keyFile, key);
      await writeFile(nodeHome(home).configFile, stringify(input));
      return NodeDaemon.start({ home: nodeHome(home), config: validateNodeConfig({ listen: { port: 0 }, ...input }, 'test'), key, logger: silentLogger(), writeState: false, ...(engine ? { engine } : {}) });
    };
    const bob = network.bob;
    const provider = await start(
      { role: 'provider', models: [sharedModelPath('stories260K.gguf')], provider: { sandbox: 'none', contextSize: 256, price: { amount: '1000', currency: 'sat', per: '1k_tokens' } }, payments: { lightning: { restUrl: bob.restUrl, tlsCertPath: bob.tlsCertPath, macaroonPath: bob.macaroonPath } } },
      new LlamaCppEngine({ threads: 1, contextSize: 256, slots: 1 }),
    );
    const aggregator = await start({ role: 'aggregator', connect: [provider.url!], storage: { backend: 'file' }, payments: {} });
    await eventually(() => aggregator.aggregator!.providerCount === 1, 15_000, 'the aggregator to reach its provider');
    const session = await dialPeer(aggregator.url!, { identity: { key: clientKey, role: 'client', agent: 'test' }, limits: validateNodeConfig({}, 't').limits, logger: silentLogger() });
    matchTime = {
      provider,
      session,
      aggregatorUrl: aggregator.url!,
      homes,
      stop: async () => {
        session.close();
        await aggregator.stop();
        await provider.stop();
        for (const home of homes) await rm(home, { recursive: true, force: true });
      },
    };
    return matchTime;
  }

  /** Runs a job through the aggregator, paying its hold invoice with alice's LND. */
  async function paidJob(prompt: string): Promise<{ jobId: string; result: JobOutcome | JobFailedError; paid?: JobPayment }> {
    const { session } = await matchTimeNodes();
    const spec = JobSpec.parse({ jobId: randomUUID(), model: { name: 'stories260K' }, input: { prompt }, sampling: { maxTokens: 24 }, deadline: Date.now() + 60_000 });
    const payer = new ClientJobPayer({ lightning: new LndInvoicePayer(network.alice.client), maxFeeBps: 1000 });
    let paid: JobPayment | undefined;
    const result = await runJob(session, clientKey, spec, { payer, onPaid: (payment) => (paid = payment) }).catch((error: JobFailedError) => error);
    return { jobId: spec.jobId, result, ...(paid ? { paid } : {}) };
  }

  it('`infernet submit` pays the hold invoice the provider made at match time through its LND; the job runs once paid and is settled after its (unchecked) verdict', async () => {
    const aliceBefore = await network.alice.client.channelBalance();
    const { aggregatorUrl, homes } = await matchTimeNodes();
    const client = await mkdtemp(join(tmpdir(), 'infernet-ln-client-'));
    homes.push(client);
    assert.equal((await runCli(['init', '--home', client, '--role', 'client', '--connect', aggregatorUrl])).code, 0);
    const config = parse(await readFile(nodeHome(client).configFile, 'utf8')) as Record<string, unknown>;
    const alice = network.alice;
    config.payments = { lightning: { restUrl: alice.restUrl, tlsCertPath: alice.tlsCertPath, macaroonPath: alice.macaroonPath } };
    await writeFile(nodeHome(client).configFile, stringify(config));
    const submitted = await runCli(['submit', '--home', client, '--model', 'stories260K', '--prompt', 'Once upon a time', '--max-tokens', '24', '--json'], { timeoutMs: 90_000 });
    assert.equal(submitted.code, 0, submitted.stderr);
    const result = JSON.parse(submitted.stdout) as { jobId: string; status: string; payment?: { rail: string; amount: string; unit: string; state: string; paymentHash?: string } };
    const jobId = result.jobId;
    assert.equal(result.status, 'completed');
    assert.deepEqual([result.payment?.rail, result.payment?.amount, result.payment?.unit, result.payment?.state], ['lightning', '24', 'sat', 'held'], '1000 sat per 1k tokens × 24 tokens');
    const paymentHash = result.payment!.paymentHash!;
    assert.equal((await network.alice.client.trackPayment(paymentHash)).status, 'SUCCEEDED');
    assert.equal((await network.bob.client.lookupInvoice(paymentHash)).state, 'SETTLED');
    const { provider } = await matchTimeNodes();
    await eventually(async () => (await provider.store.get(jobId, 'provider'))?.state === 'settled', 10_000, "the provider's job settled");
    await eventually(async () => (await network.alice.client.channelBalance()).localSat === aliceBefore.localSat - 24n, 10_000, "alice's balance");
  });

  it('the provider refuses (payment_missing), running nothing, an offer whose hold invoice was never paid', async () => {
    // A client that claims to have paid but pays nothing: the invoice stays OPEN.
    let asked: string | undefined;
    const liar: JobPayer = {
      rails: ['lightning'],
      pay: async (terms) => {
        asked = terms.rail === 'lightning' ? terms.paymentHash : undefined;
        return { rail: 'lightning', amount: '0', unit: 'sat', state: 'held' };
      },
    };
    const accepted: string[] = [];
    const { session } = await matchTimeNodes();
    const spec = JobSpec.parse({ jobId: randomUUID(), model: { name: 'stories260K' }, input: { prompt: 'Once upon a time' }, sampling: { maxTokens: 24 }, deadline: Date.now() + 60_000 });
    const failure = await runJob(session, clientKey, spec, { payer: liar, onAccepted: () => accepted.push(spec.jobId) }).catch((error: unknown) => error);
    assert.ok(failure instanceof JobFailedError);
    assert.equal(failure.code, 'payment_missing');
    assert.match(failure.message, /hold invoice is OPEN/);
    assert.deepEqual(accepted, []);
    assert.equal(await matchTime!.provider.store.get(spec.jobId, 'provider'), undefined, 'no job was started');
    await eventually(async () => (await network.bob.client.lookupInvoice(asked!)).state === 'CANCELED', 10_000, 'the unpaid invoice cancelled, so no late payment is held for a job that will not run');
  });

  it('a paid job that fails at the provider has its hold invoice cancelled: alice gets every satoshi back', async () => {
    const aliceBefore = await network.alice.client.channelBalance();
    // Longer than the provider's 256-token context: the engine refuses it after the job was paid and accepted.
    const { jobId, result, paid } = await paidJob('Once upon a time there was a little dog. '.repeat(60));
    assert.ok(result instanceof JobFailedError);
    assert.equal(result.code, 'engine_failed');
    assert.equal(paid?.rail, 'lightning', 'paid before the offer');
    const { provider } = await matchTimeNodes();
    await eventually(async () => (await provider.store.get(jobId, 'provider'))?.state === 'refunded', 10_000, "the provider's job refunded");
    assert.equal((await network.bob.client.lookupInvoice(paid!.paymentHash!)).state, 'CANCELED');
    assert.equal((await network.alice.client.trackPayment(paid!.paymentHash!)).status, 'FAILED');
    await eventually(async () => (await network.alice.client.channelBalance()).localSat === aliceBefore.localSat, 10_000, "alice's refund");
  });

  /**
   * Alice pays bob's hold invoice for a job, made on the hash of a preimage the paying side keeps; resolves once
   * bob's node holds the payment (ACCEPTED). Bob learns the preimage only as a verdict that pays reveals it.
   */
  async function payJob(jobId: string): Promise<{ paymentHash: string; preimage: string }> {
    const preimage = newHoldSecret();
    const { paymentRequest, paymentHash } = await rail.invoiceFor(jobId, PRICE_SAT, paymentHashOf(preimage));
    const inFlight = await network.alice.client.payInvoice(paymentRequest, { until: (update) => update.status === 'IN_FLIGHT' });
    assert.equal(inFlight.status, 'IN_FLIGHT');
    await eventually(async () => (await network.bob.client.lookupInvoice(paymentHash)).state === 'ACCEPTED', 20_000, 'bob to hold the payment');
    return { paymentHash, preimage };
  }

  it('settles the hold invoice of a verified run: alice pays exactly the price, bob receives it, once', async () => {
    const jobId = randomUUID();
    const aliceBefore = await network.alice.client.channelBalance();
    const bobBefore = await network.bob.client.channelBalance();
    const { paymentHash, preimage } = await payJob(jobId);
    assert.equal((await rail.inspect(jobId)).status, 'held');
    await assert.rejects(rail.acceptPreimage(jobId, newHoldSecret()), PreimageMismatchError, 'a preimage of another hash is refused');
    await rail.acceptPreimage(jobId, preimage);
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
    const { paymentHash, preimage } = await payJob(jobId);
    await rail.acceptPreimage(jobId, preimage);
    const held = await ledger.find(jobId, 'provider', 'lightning');
    await ledger.decide(held!, 'release');
    const resumed = await service().resume();
    assert.deepEqual(resumed.filter((payment) => payment.jobId === jobId).map((payment) => payment.state), ['released']);
    assert.equal((await network.bob.client.lookupInvoice(paymentHash)).state, 'SETTLED');
    await service().resume();
    assert.equal((await ledger.list({ jobId })).length, 1);
  });

  it('makes one invoice per job however often it is asked (the hash is recorded before LND sees it), never on a second hash', async () => {
    const jobId = randomUUID();
    const hash = paymentHashOf(newHoldSecret());
    const first = await rail.invoiceFor(jobId, PRICE_SAT, hash);
    const second = await rail.invoiceFor(jobId, PRICE_SAT, hash);
    assert.deepEqual(second, first);
    assert.equal(first.paymentHash, hash);
    await assert.rejects(rail.invoiceFor(jobId, PRICE_SAT, paymentHashOf(newHoldSecret())), JobInvoiceHashError);
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
