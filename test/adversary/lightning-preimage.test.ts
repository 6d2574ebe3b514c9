// Attack 7 (docs/threat-model.md): Lightning refunds at the provider's will. A provider paid by hold invoice
// settles it as soon as the client's HTLC is held, whatever becomes of the run. Real parts: a regtest network
// (btcd + two LND built by scripts/setup-lightning.sh), a provider daemon on bob's LND with a price in sat and its
// PocketBase ledger, an aggregator, and a client paying with alice's LND. The attacker is the provider's operator:
// it watches its own LND and settles every held invoice with whatever preimage its node knows. The second test
// adds two providers (one whose engine forges every output) and a redundant(2) job whose verdict comes only after
// the aggregator restarted: the honest runs must still be paid and the forged one refunded.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { nodeHome, validateNodeConfig, type NodeConfigInput } from '../../src/config/index.js';
import { generateNodeKey, loadNodeKey, saveNodeKey } from '../../src/identity/index.js';
import { LlamaCppEngine } from '../../src/inference/index.js';
import { silentLogger } from '../../src/log/index.js';
import { sharedModelPath } from '../../src/models/shared-test-models.js';
import { JobFailedError, payJobsThrough, runJob, type JobOutcome } from '../../src/client/index.js';
import { NodeDaemon } from '../../src/node/node-daemon.js';
import { openNodeStore } from '../../src/node/node-store.js';
import { ClientJobPayer, LndInvoicePayer, PaymentLedger, type JobPayment } from '../../src/payments/index.js';
import { startRegtestNetwork, type RegtestNetwork } from '../../src/payments/lightning/regtest-network.js';
import { JobSpec, type FrameOf } from '../../src/protocol/index.js';
import { settleRuns } from '../../src/verification/index.js';
import { LyingEngine } from '../../src/verification/testing/lying-engine.js';
import { dialPeer, type PeerSession } from '../../src/transport/index.js';
import { eventually } from '../support/cli.js';

const logger = silentLogger();
/** How often the attacker looks at its LND: far more often than a job takes to fail. */
const ATTACKER_POLL_MS = 5;

describe('attack 7: a provider settles its hold invoice as soon as it is held (regtest LND, in-process daemons)', () => {
  let network: RegtestNetwork;
  let honest1: Provider;
  let honest2: Provider;
  let liar: Provider;
  let aggregator: NodeDaemon;
  let aggregatorHome: string;
  let session: PeerSession;
  const homes: string[] = [];
  const clientKey = generateNodeKey();
  const POLICY = { kind: 'redundant', k: 2 } as const;

  interface Provider {
    daemon: NodeDaemon;
    home: string;
    /** Hex public key. */
    id: string;
  }

  async function start(input: NodeConfigInput, options: { engine?: LlamaCppEngine | LyingEngine; home?: string } = {}): Promise<Provider> {
    const home = options.home ?? (await mkdtemp(join(tmpdir(), 'infernet-ln-preimage-')));
    if (!options.home) {
      homes.push(home);
      await saveNodeKey(nodeHome(home).keyFile, generateNodeKey());
      await writeFile(nodeHome(home).configFile, stringify(input));
    }
    const key = await loadNodeKey(nodeHome(home).keyFile);
    const daemon = await NodeDaemon.start({ home: nodeHome(home), config: validateNodeConfig({ listen: { port: 0 }, ...input }, 'test'), key, logger, writeState: false, ...(options.engine ? { engine: options.engine } : {}) });
    return { daemon, home, id: key.publicKey };
  }

  const engine = () => new LlamaCppEngine({ threads: 1, contextSize: 256, slots: 1 });
  const providerConfig = (): NodeConfigInput => {
    const bob = network.bob;
    return { role: 'provider', models: [sharedModelPath('stories260K.gguf')], provider: { sandbox: 'none', contextSize: 256, price: { amount: '1000', currency: 'sat', per: '1k_tokens' } }, payments: { lightning: { restUrl: bob.restUrl, tlsCertPath: bob.tlsCertPath, macaroonPath: bob.macaroonPath } } };
  };
  const aggregatorConfig = (): NodeConfigInput => ({ role: 'aggregator', connect: [honest1, honest2, liar].map((node) => node.daemon.url!), storage: { backend: 'file' }, payments: {} });

  async function connectClient(): Promise<PeerSession> {
    const opened = await dialPeer(aggregator.url!, { identity: { key: clientKey, role: 'client', agent: 'test' }, limits: validateNodeConfig({}, 't').limits, logger });
    payJobsThrough(opened, new ClientJobPayer({ lightning: new LndInvoicePayer(network.alice.client), maxFeeBps: 1000 }));
    return opened;
  }

  before(async () => {
    network = await startRegtestNetwork();
    [honest1, honest2, liar] = await Promise.all([start(providerConfig(), { engine: engine() }), start(providerConfig(), { engine: engine() }), start(providerConfig(), { engine: new LyingEngine(engine(), () => true) })]);
    const started = await start(aggregatorConfig());
    aggregator = started.daemon;
    aggregatorHome = started.home;
    await eventually(() => aggregator.aggregator!.providerCount === 3, 15_000, 'the aggregator to reach its providers');
    session = await connectClient();
  });

  after(async () => {
    session?.close();
    await aggregator?.stop();
    for (const node of [liar, honest2, honest1]) await node?.daemon.stop();
    await network?.stop();
    for (const home of homes) await rm(home, { recursive: true, force: true });
  });

  /**
   * The dishonest operator: once the job's invoice is held in its LND, it settles it with every preimage its own
   * node has for the job (its ledger row's), and, lacking one, with a guess. Resolves with what it managed.
   */
  async function settleAsSoonAsHeld(provider: Provider, jobId: string, until: AbortSignal): Promise<'settled' | 'no preimage'> {
    const providerHome = provider.home;
    const opened = await openNodeStore(nodeHome(providerHome), validateNodeConfig({ role: 'provider' }, 't'), logger);
    try {
      const ledger = new PaymentLedger(opened.pocketbase!);
      for (let tries = 0; tries < 6000 && !until.aborted; tries++) {
        const payment = await ledger.find(jobId, 'provider', 'lightning');
        const held = payment && (await network.bob.client.lookupInvoice(payment.reference)).state === 'ACCEPTED';
        if (held) {
          const known = typeof payment.details.preimage === 'string' ? payment.details.preimage : randomBytes(32).toString('hex');
          const settled = await network.bob.client.settleInvoice(known).then(() => true, () => false);
          return settled ? 'settled' : 'no preimage';
        }
        await new Promise((resolve) => setTimeout(resolve, ATTACKER_POLL_MS));
      }
      return 'no preimage';
    } finally {
      await opened.close();
    }
  }

  it('a paid job that fails at the provider leaves the client its sats, though the provider settles as soon as the HTLC is held', async () => {
    const aliceBefore = await network.alice.client.channelBalance();
    // Longer than the provider's 256-token context: the engine refuses it after the job was paid and accepted.
    const spec = JobSpec.parse({ jobId: randomUUID(), model: { name: 'stories260K' }, input: { prompt: 'Once upon a time there was a little dog. '.repeat(60) }, sampling: { maxTokens: 24 }, deadline: Date.now() + 60_000 });
    const stop = new AbortController();
    const attack = settleAsSoonAsHeld(honest1, spec.jobId, stop.signal);
    let paid: JobPayment | undefined;
    const result = await runJob(session, clientKey, spec, { provider: honest1.id, onPaid: (payment) => (paid = payment) }).catch((error: unknown) => error);
    assert.ok(result instanceof JobFailedError, `the job failed: ${String(result)}`);
    assert.equal(paid?.rail, 'lightning', 'paid before the offer');
    setTimeout(() => stop.abort(), 10_000).unref();
    const attacked = await attack;
    stop.abort();
    assert.equal(attacked, 'no preimage', 'the provider found no preimage of its own to settle with');
    const paymentHash = paid!.paymentHash!;
    await eventually(async () => (await network.bob.client.lookupInvoice(paymentHash)).state === 'CANCELED', 10_000, 'the invoice cancelled');
    assert.equal((await network.alice.client.trackPayment(paymentHash)).status, 'FAILED');
    await eventually(async () => (await network.alice.client.channelBalance()).localSat === aliceBefore.localSat, 10_000, "alice's refund");
  });

  it('a forged run is refunded and the honest runs paid with the client\'s preimages, though the verdict comes after an aggregator restart', async () => {
    const aliceBefore = await network.alice.client.channelBalance();
    const spec = JobSpec.parse({ jobId: randomUUID(), model: { name: 'stories260K' }, input: { prompt: 'Once upon a time' }, sampling: { maxTokens: 24, temperature: 0 }, deadline: Date.now() + 120_000, verification: POLICY });
    // The client's side of redundant(2) by hand, so that its verdict can wait for the restart.
    const stop = new AbortController();
    const attack = settleAsSoonAsHeld(liar, spec.jobId, stop.signal);
    const runs: JobOutcome[] = [];
    // The forger runs the job (named); the aggregator draws each check's provider among the others.
    runs.push(await runJob(session, clientKey, spec, { provider: liar.id }));
    for (let check = 0; check < 2; check++) runs.push(await runJob(session, clientKey, { ...spec, jobId: randomUUID() }, { checkOf: spec.jobId }));
    assert.deepEqual(new Set(runs.slice(1).map((run) => run.provider)), new Set([honest1.id, honest2.id]), 'the checks were drawn among the providers that had not run the job');
    setTimeout(() => stop.abort(), 10_000).unref();
    assert.equal(await attack, 'no preimage', 'the forger found no preimage to settle with');
    const settled = settleRuns(runs.map((run) => ({ outputHash: run.outputHash!, tokenIds: run.tokenIds, ...(run.fingerprints ? { fingerprints: run.fingerprints } : {}) })), 3);
    assert.deepEqual(settled.verdicts, ['failed', 'verified', 'verified'], 'the forged run is outvoted');
    const hashes = runs.map((run) => run.payment!.paymentHash!);
    for (const hash of hashes) assert.equal((await network.bob.client.lookupInvoice(hash)).state, 'ACCEPTED', 'every run held, none settled before its verdict');

    session.close();
    await aggregator.stop();
    aggregator = (await start(aggregatorConfig(), { home: aggregatorHome })).daemon;
    await eventually(() => aggregator.aggregator!.providerCount === 3, 15_000, 'the restarted aggregator to reach its providers');
    session = await connectClient();
    const refusals: string[] = [];
    session.onFrame((frame) => void (frame.type === 'error' && refusals.push(frame.message)));
    const verdict: Omit<FrameOf<'job.verdict'>, 'v'> = { type: 'job.verdict', jobId: spec.jobId, policy: POLICY, runs: runs.map((run, i) => ({ jobId: run.jobId, provider: run.provider, verdict: settled.verdicts![i]!, fingerprints: run.fingerprints! })) };
    session.send(verdict);

    const states = async () => (await Promise.all(hashes.map(async (hash) => (await network.bob.client.lookupInvoice(hash)).state))).join();
    await eventually(async () => (await states()) === 'CANCELED,SETTLED,SETTLED' || refusals.length > 0, 30_000, 'the invoices settled by the late verdict').catch(async (error: Error) => {
      throw new Error(`${error.message}: ${await states()}`);
    });
    assert.deepEqual(refusals, []);
    await eventually(async () => (await network.alice.client.channelBalance()).localSat === aliceBefore.localSat - 2n * 24n, 10_000, 'alice pays the two honest runs only');
  });

  it('refuses (payment_required) a client that pays by Lightning without a hold secret, rather than pay on a provider-made preimage', async () => {
    const jobId = randomUUID();
    const answer = new Promise<FrameOf<'job.reject'>>((resolve, reject) => {
      // Bounded: an aggregator that matches the job instead (the old code) sends no job.reject at all.
      const timer = setTimeout(() => reject(new Error('no job.reject within 15 s: the job was matched on an invoice of the provider\'s making')), 15_000);
      const stop = session.onFrame((frame) => {
        if (frame.type === 'job.reject' && frame.jobId === jobId) {
          clearTimeout(timer);
          stop();
          resolve(frame);
        }
      });
    });
    // What a client before the hold secret sends: its rails only.
    session.send({ type: 'job.request', jobId, model: { name: 'stories260K' }, maxTokens: 24, deadline: Date.now() + 60_000, payment: { rails: ['lightning'] } });
    const reject = await answer;
    assert.equal(reject.code, 'payment_required');
    assert.match(reject.message, /preimage the client makes.*payment\.holdSecret.*update the client/);
  });
});
