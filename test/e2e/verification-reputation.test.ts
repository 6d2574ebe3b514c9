// Verification and reputation across real parts: in-process node daemons over real sockets (two honest providers
// and one whose engine deliberately corrupts every output, three aggregators), libp2p gossip on loopback, and a
// real Nostr relay (khatru, built by scripts/setup-relay.sh) as a child process on 127.0.0.1.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Relay } from 'nostr-tools/relay';
import type { Event } from 'nostr-tools/pure';
import { stringify } from 'yaml';
import { nodeHome, validateNodeConfig, type NodeConfigInput } from '../../src/config/index.js';
import { DiscoveryService, REPUTATION_TOPIC } from '../../src/discovery/index.js';
import { generateNodeKey, saveNodeKey, type NodeKey } from '../../src/identity/index.js';
import { LlamaCppEngine, type InferenceEngine } from '../../src/inference/index.js';
import { silentLogger } from '../../src/log/index.js';
import { sharedModelPath } from '../../src/models/shared-test-models.js';
import { NodeDaemon } from '../../src/node/node-daemon.js';
import { JobSpec } from '../../src/protocol/index.js';
import { createJobOutcomeEvent, encodeReputationGossip, UNPROVEN_SCORE } from '../../src/reputation/index.js';
import { startTestRelay, type TestRelay } from '../../src/reputation/testing/test-relay.js';
import { dialPeer, type PeerSession } from '../../src/transport/index.js';
import { runVerifiedJob } from '../../src/client/index.js';
import { type VerificationOutcome } from '../../src/verification/index.js';
import { LyingEngine } from '../../src/verification/testing/lying-engine.js';
import { eventually, runCli } from '../support/cli.js';

const model = sharedModelPath('stories260K.gguf');
const logger = silentLogger();
const LOOPBACK_DISCOVERY = { enabled: true, listen: ['/ip4/127.0.0.1/tcp/0'], allow: ['/ip4/127.0.0.1'], nat: { relayClient: false, holePunch: false } };

const engine = (): InferenceEngine => new LlamaCppEngine({ threads: 1, contextSize: 256, slots: 2 });

interface StartedNode {
  daemon: NodeDaemon;
  key: NodeKey;
  home: string;
}

async function startNode(input: NodeConfigInput, options: { engine?: InferenceEngine; key?: NodeKey } = {}): Promise<StartedNode> {
  const home = await mkdtemp(join(tmpdir(), 'infernet-verify-'));
  const key = options.key ?? generateNodeKey();
  const config = validateNodeConfig({ listen: { port: 0 }, ...input }, 'test');
  // Written like `infernet init` does, so that CLI commands can open this home.
  await saveNodeKey(nodeHome(home).keyFile, key);
  await writeFile(nodeHome(home).configFile, stringify(input));
  const daemon = await NodeDaemon.start({ home: nodeHome(home), config, key, logger, writeState: false, ...(options.engine ? { engine: options.engine } : {}) });
  return { daemon, key, home };
}

const provider = (amount: string, engineToUse: InferenceEngine) =>
  startNode({ role: 'provider', models: [model], storage: { backend: 'file' }, provider: { slots: 2, sandbox: 'none', price: { amount, currency: 'USDC', per: '1k_tokens' } } }, { engine: engineToUse });

const spec = (verification: JobSpec['verification']): JobSpec =>
  JobSpec.parse({ jobId: randomUUID(), model: { name: 'stories260K' }, input: { prompt: 'Once upon a time' }, sampling: { maxTokens: 24, temperature: 0 }, deadline: Date.now() + 60_000, verification });

describe('verification and reputation: a provider that corrupts its outputs (in-process daemons, real relay, real gossip)', () => {
  let relay: TestRelay;
  let honest1: StartedNode;
  let honest2: StartedNode;
  let liar: StartedNode;
  let lyingEngine: LyingEngine;
  let aggregatorA: StartedNode;
  let gossipOnlyB: StartedNode;
  let relayOnlyC: StartedNode;
  let session: PeerSession;
  const clientKey = generateNodeKey();
  const outcomesAtA: VerificationOutcome[] = [];

  before(async () => {
    relay = await startTestRelay();
    lyingEngine = new LyingEngine(engine(), () => true);
    // The liar is the cheapest, so that it is matched first while nobody knows better.
    [honest1, honest2, liar] = await Promise.all([provider('0.002', engine()), provider('0.003', engine()), provider('0.001', lyingEngine)]);
    const providers = [honest1, honest2, liar].map((node) => node.daemon.url!);
    aggregatorA = await startNode({ role: 'aggregator', connect: providers, discovery: LOOPBACK_DISCOVERY, reputation: { relays: [relay.url] } });
    const bootstrap = aggregatorA.daemon.discoveryService!.multiaddrs()[0]!;
    const trustA = { trust: [aggregatorA.key.npub] };
    [gossipOnlyB, relayOnlyC] = await Promise.all([
      startNode({ role: 'aggregator', connect: providers, storage: { backend: 'file' }, discovery: { ...LOOPBACK_DISCOVERY, bootstrap: [bootstrap] }, reputation: trustA }),
      startNode({ role: 'aggregator', connect: providers, storage: { backend: 'file' }, reputation: { ...trustA, relays: [relay.url] } }),
    ]);
    for (const node of [aggregatorA, gossipOnlyB, relayOnlyC]) await eventually(() => node.daemon.aggregator!.providerCount === 3, 15_000, 'links to the three providers');
    const pubsubA = aggregatorA.daemon.discoveryService!.libp2p.services.pubsub;
    await eventually(() => pubsubA.getSubscribers(REPUTATION_TOPIC).length > 0, 15_000, 'B to subscribe to the reputation topic');
    aggregatorA.daemon.onVerification((outcome) => outcomesAtA.push(outcome));
    session = await dialPeer(aggregatorA.daemon.url!, { identity: { key: clientKey, role: 'client', agent: 'test' }, limits: validateNodeConfig({}, 't').limits, logger });
  });

  after(async () => {
    session?.close();
    for (const node of [relayOnlyC, gossipOnlyB, aggregatorA, liar, honest2, honest1]) await node?.daemon.stop();
    await relay?.stop();
  });

  it('ranks the cheap liar first at every aggregator while nothing is known of it', () => {
    for (const node of [aggregatorA, gossipOnlyB, relayOnlyC]) assert.equal(node.daemon.aggregator!.rankedProviders('stories260K')[0], liar.key.publicKey);
  });

  it('redundant(2): detects the corrupted output and settles it with a third execution on another provider', async () => {
    const outcome = await runVerifiedJob(session, clientKey, spec({ kind: 'redundant', k: 2 }));
    const byProvider = new Map(outcome.verification.runs.map((run) => [run.provider, run.verdict]));
    assert.equal(outcome.verification.runs.length, 3, 'the two disagreeing runs and the settling one');
    assert.equal(outcome.verification.runs[0]!.provider, liar.key.publicKey, 'the liar ran the primary');
    assert.deepEqual([byProvider.get(liar.key.publicKey), byProvider.get(honest1.key.publicKey), byProvider.get(honest2.key.publicKey)], ['failed', 'verified', 'verified']);
    assert.equal(lyingEngine.lies, 1);
    assert.match(outcome.output, /[a-z]/, 'the client gets the honest majority output, not the corrupted one');
    assert.notEqual(outcome.provider, liar.key.publicKey);
    // The aggregator took the verdict: one outcome per run, the liar's 'failed' (not paid), and a counted failure.
    await eventually(() => outcomesAtA.length === 3, 10_000, 'three verification outcomes at the aggregator');
    assert.deepEqual(outcomesAtA.filter((o) => o.verdict === 'failed').map((o) => o.provider), [liar.key.publicKey]);
    assert.ok(outcomesAtA.every((o) => o.jobId === outcome.jobId));
    assert.match(await aggregatorA.daemon.metrics.render(), /infernet_verification_failures_total\{reason="wrong_output"\} 1/);
  });

  it("the outcome events reach B through gossip and C through the relay, and both now rank the liar last", async () => {
    for (const [node, via] of [[gossipOnlyB, 'gossip'], [relayOnlyC, 'relay']] as const) {
      await eventually(() => node.daemon.reputation!.ratingsOf(liar.key.publicKey).length > 0, 15_000, `the liar's outcome event to reach ${via}`);
      const [rating] = node.daemon.reputation!.ratingsOf(liar.key.publicKey);
      assert.deepEqual([rating!.rater, rating!.outcome, rating!.via], [aggregatorA.key.publicKey, 'failed', via]);
      await eventually(() => node.daemon.reputation!.ratingsOf(honest2.key.publicKey).length > 0, 15_000, `the honest outcome events to reach ${via}`);
      assert.equal(node.daemon.aggregator!.rankedProviders('stories260K').at(-1), liar.key.publicKey, `${via}: the liar ranks last`);
    }
  });

  it('sampled(0.1), when the draw falls on the job: another provider re-runs it as an ordinary job and both are verified', async () => {
    const before = outcomesAtA.length;
    const outcome = await runVerifiedJob(session, clientKey, spec({ kind: 'sampled', p: 0.1 }), { random: () => 0 });
    assert.deepEqual(outcome.verification.runs.map((run) => run.verdict), ['verified', 'verified']);
    assert.notEqual(outcome.verification.runs[0]!.jobId, outcome.verification.runs[1]!.jobId);
    assert.ok(outcome.verification.runs.every((run) => run.provider !== liar.key.publicKey), 'the liar, ranked last now, is not matched');
    await eventually(() => outcomesAtA.length === before + 2, 10_000, 'two verified outcomes at the aggregator');
    assert.ok(outcomesAtA.slice(before).every((o) => o.verdict === 'verified'));
  });

  it('refuses forged and tampered outcome events: the relay rejects them, gossip receivers drop them', async () => {
    const genuine = createJobOutcomeEvent(aggregatorA.key, { provider: honest1.key.publicKey, jobId: randomUUID(), resultEventId: 'e'.repeat(64), outcome: 'verified', policy: 'none', model: 'stories260K' });
    const tampered = { ...genuine, tags: genuine.tags.map((tag) => (tag[0] === 'p' ? ['p', liar.key.publicKey] : tag)) };
    const forged = { ...createJobOutcomeEvent(generateNodeKey(), { provider: liar.key.publicKey, jobId: randomUUID(), resultEventId: 'e'.repeat(64), outcome: 'verified', policy: 'none', model: 'stories260K' }), pubkey: aggregatorA.key.publicKey };
    const direct = await Relay.connect(relay.url);
    try {
      for (const bad of [tampered, forged]) await assert.rejects(direct.publish(bad as Event), /invalid/);
    } finally {
      direct.close();
    }
    // A peer on the gossip topic that sends them: B must drop both and keep what it had.
    const before = gossipOnlyB.daemon.reputation!.ratingsOf(liar.key.publicKey).length;
    const rejectedBefore = gossipOnlyB.daemon.reputation!.rejectedCount.gossip;
    const mallory = new DiscoveryService({ key: generateNodeKey(), logger, listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: [aggregatorA.daemon.discoveryService!.multiaddrs()[0]!], allow: ['/ip4/127.0.0.1'] });
    await mallory.start();
    try {
      await eventually(() => mallory.libp2p.services.pubsub.getSubscribers(REPUTATION_TOPIC).length > 0, 15_000, 'mallory to see subscribers');
      await mallory.publishReputation(encodeReputationGossip([tampered, forged]));
      await eventually(() => gossipOnlyB.daemon.reputation!.rejectedCount.gossip >= rejectedBefore + 2, 15_000, 'B to refuse both');
    } finally {
      await mallory.stop();
    }
    assert.equal(gossipOnlyB.daemon.reputation!.ratingsOf(liar.key.publicKey).length, before);
  });

  it('`infernet reputation NPUB --home DIR --json` shows the history kept in the aggregator\'s PocketBase', async () => {
    const shown = await runCli(['reputation', liar.key.npub, '--home', aggregatorA.home, '--json']);
    assert.equal(shown.code, 0, shown.stderr);
    const report = JSON.parse(shown.stdout) as { npub: string; score: number; events: Array<{ outcome: string; rater: string; via: string }> };
    assert.equal(report.npub, liar.key.npub);
    assert.ok(report.score < 0.5, `the liar's score ${report.score}`);
    assert.deepEqual(report.events.map((event) => [event.outcome, event.rater, event.via]), [['failed', aggregatorA.key.publicKey, 'local']]);
    assert.ok(aggregatorA.daemon.reputation!.scoreOf(honest1.key.publicKey) > UNPROVEN_SCORE, 'an honest provider scores above a fresh key');
  });
});
