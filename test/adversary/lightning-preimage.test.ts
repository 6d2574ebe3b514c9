// Attack 7 (docs/threat-model.md): Lightning refunds at the provider's will. A provider paid by hold invoice
// settles it as soon as the client's HTLC is held, whatever becomes of the run. Real parts: a regtest network
// (btcd + two LND built by scripts/setup-lightning.sh), a provider daemon on bob's LND with a price in sat and its
// PocketBase ledger, an aggregator, and a client paying with alice's LND. The attacker is the provider's operator:
// it watches its own LND and settles every held invoice with whatever preimage its node knows.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { nodeHome, validateNodeConfig, type NodeConfigInput } from '../../src/config/index.js';
import { generateNodeKey, saveNodeKey } from '../../src/identity/index.js';
import { LlamaCppEngine } from '../../src/inference/index.js';
import { silentLogger } from '../../src/log/index.js';
import { sharedModelPath } from '../../src/models/shared-test-models.js';
import { JobFailedError, runJob } from '../../src/node/index.js';
import { NodeDaemon } from '../../src/node/node-daemon.js';
import { openNodeStore } from '../../src/node/node-store.js';
import { ClientJobPayer, LndInvoicePayer, PaymentLedger, type JobPayment } from '../../src/payments/index.js';
import { startRegtestNetwork, type RegtestNetwork } from '../../src/payments/lightning/regtest-network.js';
import { JobSpec } from '../../src/protocol/index.js';
import { dialPeer, type PeerSession } from '../../src/transport/index.js';
import { eventually } from '../support/cli.js';

const logger = silentLogger();
/** How often the attacker looks at its LND: far more often than a job takes to fail. */
const ATTACKER_POLL_MS = 5;

describe('attack 7: a provider settles its hold invoice as soon as it is held (regtest LND, in-process daemons)', () => {
  let network: RegtestNetwork;
  let provider: NodeDaemon;
  let aggregator: NodeDaemon;
  let session: PeerSession;
  const homes: string[] = [];
  const clientKey = generateNodeKey();

  async function start(input: NodeConfigInput, engine?: LlamaCppEngine): Promise<NodeDaemon> {
    const home = await mkdtemp(join(tmpdir(), 'infernet-ln-preimage-'));
    homes.push(home);
    const key = generateNodeKey();
    await saveNodeKey(nodeHome(home).keyFile, key);
    await writeFile(nodeHome(home).configFile, stringify(input));
    return NodeDaemon.start({ home: nodeHome(home), config: validateNodeConfig({ listen: { port: 0 }, ...input }, 'test'), key, logger, writeState: false, ...(engine ? { engine } : {}) });
  }

  before(async () => {
    network = await startRegtestNetwork();
    const bob = network.bob;
    provider = await start(
      { role: 'provider', models: [sharedModelPath('stories260K.gguf')], provider: { sandbox: 'none', contextSize: 256, price: { amount: '1000', currency: 'sat', per: '1k_tokens' } }, payments: { lightning: { restUrl: bob.restUrl, tlsCertPath: bob.tlsCertPath, macaroonPath: bob.macaroonPath } } },
      new LlamaCppEngine({ threads: 1, contextSize: 256, slots: 1 }),
    );
    aggregator = await start({ role: 'aggregator', connect: [provider.url!], storage: { backend: 'file' }, payments: {} });
    await eventually(() => aggregator.aggregator!.providerCount === 1, 15_000, 'the aggregator to reach its provider');
    session = await dialPeer(aggregator.url!, { identity: { key: clientKey, role: 'client', agent: 'test' }, limits: validateNodeConfig({}, 't').limits, logger });
  });

  after(async () => {
    session?.close();
    await aggregator?.stop();
    await provider?.stop();
    await network?.stop();
    for (const home of homes) await rm(home, { recursive: true, force: true });
  });

  /**
   * The dishonest operator: once the job's invoice is held in its LND, it settles it with every preimage its own
   * node has for the job (its ledger row's), and, lacking one, with a guess. Resolves with what it managed.
   */
  async function settleAsSoonAsHeld(jobId: string, until: AbortSignal): Promise<'settled' | 'no preimage'> {
    const providerHome = homes[0]!;
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
    const attack = settleAsSoonAsHeld(spec.jobId, stop.signal);
    const payer = new ClientJobPayer({ lightning: new LndInvoicePayer(network.alice.client), maxFeeBps: 1000 });
    let paid: JobPayment | undefined;
    const result = await runJob(session, clientKey, spec, { payer, onPaid: (payment) => (paid = payment) }).catch((error: unknown) => error);
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
});
