// Escrow settlement driven by result verification, across real parts: in-process node daemons over real sockets
// (two honest providers and one whose engine corrupts every output, each with a price in USDC and a payout
// address), an aggregator with its PocketBase ledger and payments.evm on a real local chain, and a client running
// redundant(2) verification that pays every run by itself (the match's terms, deposited before each offer). A
// provider is paid when the runs agree with it; the client is refunded for a run the majority finds wrong.
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
import { ClientJobPayer, EscrowClient, initWallet, PaymentLedger, type Payment } from '../../src/payments/index.js';
import { payJobsThrough } from '../../src/client/index.js';
import { JobSpec } from '../../src/protocol/index.js';
import { dialPeer, type PeerSession } from '../../src/transport/index.js';
import { runVerifiedJob } from '../../src/client/index.js';
import { LyingEngine } from '../../src/verification/testing/lying-engine.js';
import { eventually } from '../support/cli.js';

const model = sharedModelPath('stories260K.gguf');
const logger = silentLogger();
const AMOUNT = 3_000_000n; // 125 USDC per 1k tokens × 24 tokens
const FEE = 150_000n; // the aggregator's default 500 bps
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

const provider = (engineToUse: InferenceEngine, payoutAddress: `0x${string}`) =>
  startNode({ role: 'provider', models: [model], storage: { backend: 'file' }, provider: { slots: 2, sandbox: 'none', price: { amount: '125', currency: 'USDC', per: '1k_tokens' } }, payments: { payoutAddress } }, { engine: engineToUse });

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
  /** Payout addresses the providers announce, one per provider. */
  const payout = new Map<string, `0x${string}`>();
  let released = 0;

  before(async () => {
    chain = await startLocalChain();
    const [a, b, c] = [0, 1, 2].map(() => privateKeyToAccount(generatePrivateKey()).address);
    [honest1, honest2, liar] = await Promise.all([provider(engine(), a!), provider(engine(), b!), provider(new LyingEngine(engine(), () => true), c!)]);
    for (const [node, address] of [[honest1, a], [honest2, b], [liar, c]] as const) payout.set(node.key.publicKey, address!);
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
    // Every run over this session (the primary and the checks) pays the terms of its own match.
    payJobsThrough(session, new ClientJobPayer({ escrow: client, maxFeeBps: 1000 }));
  });

  after(async () => {
    session?.close();
    for (const node of [aggregator, liar, honest2, honest1]) await node?.daemon.stop();
    await chain?.stop();
    for (const node of [aggregator, liar, honest2, honest1]) if (node) await rm(node.home, { recursive: true, force: true });
  });

  /** Runs a job under redundant(2) with `primary` first; each run pays by itself. Waits for every run's settlement. */
  async function paidVerifiedJob(primary: StartedNode) {
    const spec = JobSpec.parse({ jobId: randomUUID(), model: { name: 'stories260K' }, input: { prompt: 'Once upon a time' }, sampling: { maxTokens: 24, temperature: 0 }, deadline: Date.now() + 60_000, verification: { kind: 'redundant', k: 2 } });
    const outcome = await runVerifiedJob(session, clientKey, spec, { hooks: { provider: primary.key.publicKey } });
    const payments = new Map<string, Payment>();
    for (const run of outcome.verification.runs) payments.set(run.jobId, await finalPayment(run.jobId));
    const paidRuns = outcome.verification.runs.filter((run) => run.verdict !== 'failed').length;
    released += paidRuns;
    return { jobId: spec.jobId, outcome, payments, paidRuns };
  }

  /** The aggregator's ledger row for the job once final, read from its PocketBase as `infernet wallet` does. */
  async function finalPayment(jobId: string): Promise<Payment> {
    const opened = await openNodeStore(nodeHome(aggregator.home), validateNodeConfig({ role: 'aggregator' }, 't'), logger);
    try {
      const ledger = new PaymentLedger(opened.pocketbase!);
      await eventually(async () => ['released', 'refunded'].includes((await ledger.find(jobId, 'aggregator', 'evm'))?.state ?? '') && ['settled', 'refunded'].includes((await opened.store.get(jobId, 'aggregator'))?.state ?? ''), 30_000, `the settlement of ${jobId}`).catch(async (error: Error) => {
        const [payment, job] = [await ledger.find(jobId, 'aggregator', 'evm'), await opened.store.get(jobId, 'aggregator')];
        throw new Error(`${error.message}: payment ${payment?.state ?? 'none'} (${payment?.decision ?? 'undecided'}), job ${job?.state ?? 'none'} ${job?.error?.message ?? ''}`);
      });
      return (await ledger.find(jobId, 'aggregator', 'evm'))!;
    } finally {
      await opened.close();
    }
  }

  it('a job whose provider cheats (wrong output, outvoted under redundant(2)) ends with the client refunded for its run', async () => {
    const before = await client.tokenBalance(client.address!);
    const { jobId, outcome, payments, paidRuns } = await paidVerifiedJob(liar);
    assert.equal(outcome.verification.runs.find((run) => run.jobId === jobId)?.verdict, 'failed');
    const payment = payments.get(jobId)!;
    assert.deepEqual([payment.state, payment.decision, payment.details.verdict], ['refunded', 'refund', 'failed']);
    assert.equal((await client.escrowOf(jobId)).provider, payout.get(liar.key.publicKey), "the deposit named the liar's announced payout address");
    assert.equal(await client.tokenBalance(payout.get(liar.key.publicKey)!), 0n);
    assert.equal((await client.escrowOf(jobId)).status, 'refunded');
    // The checks that outvoted it were paid; the liar's deposit came back in full.
    assert.ok(paidRuns >= 1);
    assert.equal(await client.tokenBalance(client.address!), before - BigInt(paidRuns) * (AMOUNT + FEE));
  });

  it('a verified job ends with its provider paid and the aggregator its fee, exactly', async () => {
    const honestPayout = payout.get(honest1.key.publicKey)!;
    const paidBefore = await client.tokenBalance(honestPayout);
    const feesBefore = await client.tokenBalance(aggregatorAddress);
    const { jobId, outcome, payments, paidRuns } = await paidVerifiedJob(honest1);
    assert.equal(outcome.verification.runs.find((run) => run.jobId === jobId)?.verdict, 'verified');
    const payment = payments.get(jobId)!;
    assert.deepEqual([payment.state, payment.decision, payment.details.verdict], ['released', 'release', 'verified']);
    assert.equal(await client.tokenBalance(honestPayout), paidBefore + AMOUNT);
    assert.equal(await client.tokenBalance(aggregatorAddress), feesBefore + BigInt(paidRuns) * FEE);
    const metric = /infernet_payment_amount_total\{direction="received",currency="USDC"\} ([\d.]+)/.exec(await aggregator.daemon.metrics.render());
    assert.ok(Math.abs(Number(metric?.[1]) - (released * Number(FEE)) / 1e6) < 1e-9, `every fee in /metrics: ${metric?.[1]}`);
  });
});
