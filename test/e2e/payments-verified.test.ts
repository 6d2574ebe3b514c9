// Escrow settlement driven by result verification, across real parts: in-process node daemons over real sockets
// (two honest providers and one whose engine corrupts every output), an aggregator with its PocketBase ledger
// and payments.evm on a real local chain, and a client running redundant(2) verification. The provider is paid
// when the runs agree with it; the client is refunded when the majority finds its provider's output wrong.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { numberToHex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { stringify } from 'yaml';
import { nodeHome, validateNodeConfig, type NodeConfigInput } from '../../src/config/index.js';
import { generateNodeKey, saveNodeKey, type NodeKey } from '../../src/identity/index.js';
import { LlamaCppEngine, type InferenceEngine } from '../../src/inference/index.js';
import { silentLogger } from '../../src/log/index.js';
import { sharedModelPath } from '../../src/models/shared-test-models.js';
import { NodeDaemon } from '../../src/node/node-daemon.js';
import { openNodeStore } from '../../src/node/node-store.js';
import { startLocalChain, type LocalChain } from '../../src/payments/evm/local-chain.js';
import { EscrowClient, initWallet, PaymentLedger, type Payment } from '../../src/payments/index.js';
import { JobSpec } from '../../src/protocol/index.js';
import { dialPeer, type PeerSession } from '../../src/transport/index.js';
import { runVerifiedJob } from '../../src/verification/index.js';
import { LyingEngine } from '../../src/verification/testing/lying-engine.js';
import { eventually } from '../support/cli.js';

const model = sharedModelPath('stories260K.gguf');
const logger = silentLogger();
const AMOUNT = 3_000_000n;
const FEE = 150_000n;
const engine = (): InferenceEngine => new LlamaCppEngine({ threads: 1, contextSize: 256, slots: 2 });

interface StartedNode {
  daemon: NodeDaemon;
  key: NodeKey;
  home: string;
}

async function startNode(input: NodeConfigInput, options: { engine?: InferenceEngine; prepare?: (home: string) => Promise<void> } = {}): Promise<StartedNode> {
  const home = await mkdtemp(join(tmpdir(), 'infernet-paid-verify-'));
  const key = generateNodeKey();
  await saveNodeKey(nodeHome(home).keyFile, key);
  await writeFile(nodeHome(home).configFile, stringify(input));
  await options.prepare?.(home);
  const config = validateNodeConfig({ listen: { port: 0 }, ...input }, 'test');
  const daemon = await NodeDaemon.start({ home: nodeHome(home), config, key, logger, writeState: false, ...(options.engine ? { engine: options.engine } : {}) });
  return { daemon, key, home };
}

const provider = (engineToUse: InferenceEngine) =>
  startNode({ role: 'provider', models: [model], storage: { backend: 'file' }, provider: { slots: 2, sandbox: 'none', price: { amount: '0.002', currency: 'USDC', per: '1k_tokens' } } }, { engine: engineToUse });

describe('escrow settled by verification verdicts (local chain, in-process daemons, a lying provider)', () => {
  let chain: LocalChain;
  let honest1: StartedNode;
  let honest2: StartedNode;
  let liar: StartedNode;
  let aggregator: StartedNode;
  let aggregatorAddress: `0x${string}`;
  let client: EscrowClient;
  let session: PeerSession;
  const clientKey = generateNodeKey();
  /** Payout addresses the client names in its deposits, one per provider. */
  const payout = new Map<string, `0x${string}`>();

  before(async () => {
    chain = await startLocalChain();
    [honest1, honest2, liar] = await Promise.all([provider(engine()), provider(engine()), provider(new LyingEngine(engine(), () => true))]);
    for (const node of [honest1, honest2, liar]) payout.set(node.key.publicKey, privateKeyToAccount(generatePrivateKey()).address);
    aggregator = await startNode(
      { role: 'aggregator', connect: [honest1, honest2, liar].map((node) => node.daemon.url!), payments: { evm: { network: 'local', rpcUrl: chain.rpcUrl, escrow: chain.escrow, token: chain.token } } },
      {
        prepare: async (home) => {
          const { wallet } = await initWallet(join(home, 'wallet.json'));
          aggregatorAddress = wallet.evm!.address;
          await chain.reader.request({ method: 'hardhat_setBalance' as 'eth_chainId', params: [aggregatorAddress, numberToHex(10n ** 18n)] as never });
        },
      },
    );
    await eventually(() => aggregator.daemon.aggregator!.providerCount === 3, 15_000, 'links to the three providers');
    session = await dialPeer(aggregator.daemon.url!, { identity: { key: clientKey, role: 'client', agent: 'test' }, limits: validateNodeConfig({}, 't').limits, logger });
    const { account } = await chain.newAccount(100_000_000n);
    client = new EscrowClient({ chain: chain.chain, rpcUrl: chain.rpcUrl, escrow: chain.escrow, token: chain.token, account, pollingIntervalMs: 50 });
  });

  after(async () => {
    session?.close();
    for (const node of [aggregator, liar, honest2, honest1]) await node?.daemon.stop();
    await chain?.stop();
    for (const node of [aggregator, liar, honest2, honest1]) if (node) await rm(node.home, { recursive: true, force: true });
  });

  /** Deposits for the job naming `primary`'s payout address, then runs it under redundant(2) with `primary` first. */
  async function paidVerifiedJob(primary: StartedNode) {
    const spec = JobSpec.parse({ jobId: randomUUID(), model: { name: 'stories260K' }, input: { prompt: 'Once upon a time' }, sampling: { maxTokens: 24, temperature: 0 }, deadline: Date.now() + 60_000, verification: { kind: 'redundant', k: 2 } });
    const block = await chain.reader.getBlock();
    await client.deposit({ jobId: spec.jobId, provider: payout.get(primary.key.publicKey)!, aggregator: aggregatorAddress, amount: AMOUNT, fee: FEE, deadline: block.timestamp + 600n });
    const outcome = await runVerifiedJob(session, clientKey, spec, { hooks: { provider: primary.key.publicKey } });
    return { jobId: spec.jobId, outcome };
  }

  /** The aggregator's ledger row for the job once final, read from its PocketBase as `infernet wallet` does. */
  async function finalPayment(jobId: string): Promise<Payment> {
    const opened = await openNodeStore(nodeHome(aggregator.home), validateNodeConfig({ role: 'aggregator' }, 't'), logger);
    try {
      const ledger = new PaymentLedger(opened.pocketbase!);
      await eventually(async () => ['released', 'refunded'].includes((await ledger.find(jobId, 'aggregator', 'evm'))?.state ?? '') && ['settled', 'refunded'].includes((await opened.store.get(jobId, 'aggregator'))?.state ?? ''), 30_000, 'the settlement');
      return (await ledger.find(jobId, 'aggregator', 'evm'))!;
    } finally {
      await opened.close();
    }
  }

  it('a job whose provider cheats (wrong output, outvoted under redundant(2)) ends with the client refunded', async () => {
    const before = await client.tokenBalance(client.address!);
    const { jobId, outcome } = await paidVerifiedJob(liar);
    assert.equal(outcome.verification.runs.find((run) => run.jobId === jobId)?.verdict, 'failed');
    const payment = await finalPayment(jobId);
    assert.deepEqual([payment.state, payment.decision, payment.details.verdict], ['refunded', 'refund', 'failed']);
    assert.equal(await client.tokenBalance(client.address!), before);
    assert.equal(await client.tokenBalance(payout.get(liar.key.publicKey)!), 0n);
    assert.equal((await client.escrowOf(jobId)).status, 'refunded');
  });

  it('a verified job ends with its provider paid and the aggregator its fee, exactly', async () => {
    const honestPayout = payout.get(honest1.key.publicKey)!;
    const feesBefore = await client.tokenBalance(aggregatorAddress);
    const { jobId, outcome } = await paidVerifiedJob(honest1);
    assert.equal(outcome.verification.runs.find((run) => run.jobId === jobId)?.verdict, 'verified');
    const payment = await finalPayment(jobId);
    assert.deepEqual([payment.state, payment.decision, payment.details.verdict], ['released', 'release', 'verified']);
    assert.equal(await client.tokenBalance(honestPayout), AMOUNT);
    assert.equal(await client.tokenBalance(aggregatorAddress), feesBefore + FEE);
    assert.match(await aggregator.daemon.metrics.render(), /infernet_payment_amount_total\{direction="received",currency="USDC"\} 0\.15\b/, 'the fee in /metrics');
  });
});
