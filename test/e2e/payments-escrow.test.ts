// Jobs paid through the JobEscrow on a real local chain, with a provider, an aggregator (settling escrows) and
// a client as real processes and sessions: the provider is paid for a good result, the client refunded for a
// forged one, and an aggregator SIGKILLed with its release unmined pays exactly once after its restart.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { numberToHex } from 'viem';
import YAML from 'yaml';
import { loadNodeConfig, nodeHome, validateNodeConfig } from '../../src/config/index.js';
import { generateNodeKey, type NodeKey } from '../../src/identity/index.js';
import { silentLogger } from '../../src/log/index.js';
import { sharedModelPath } from '../../src/models/shared-test-models.js';
import { runJob, type JobHooks } from '../../src/node/index.js';
import { openNodeStore } from '../../src/node/node-store.js';
import { sealJobResult } from '../../src/node/job-envelopes.js';
import { EscrowClient, PaymentLedger, type Payment } from '../../src/payments/index.js';
import { startLocalChain, type LocalChain } from '../../src/payments/evm/local-chain.js';
import { JobSpec, type Frame } from '../../src/protocol/index.js';
import { dialPeer, type PeerSession } from '../../src/transport/index.js';
import { eventually, freePort, runCli, startDaemon, type RunningDaemon } from '../support/cli.js';

const model = sharedModelPath('stories260K.gguf');
const AMOUNT = 2_000_000n; // 2 USDC to the provider
const FEE = 100_000n; // 0.1 USDC to the aggregator
const limits = validateNodeConfig({}, 'test').limits;

interface PaymentView {
  jobId: string;
  state: string;
  decision?: string;
  amount: string;
  reference: string;
}

describe('jobs paid through the escrow (local chain, real daemons)', () => {
  let dir: string;
  let chain: LocalChain;
  let client: EscrowClient;
  let aggregatorAddress: `0x${string}`;
  let escrow: `0x${string}`;
  const providerPayout = `0x${'5e'.repeat(20)}` as const;
  const clientKey = generateNodeKey();
  const daemons: Record<string, RunningDaemon> = {};
  const home = (name: string) => join(dir, name);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'infernet-payments-'));
    chain = await startLocalChain();
    await runCli(['init', '--home', home('provider'), '--role', 'provider', '--port', String(await freePort()), '--model', model, '--sandbox', 'none']);
    daemons.provider = await startDaemon(home('provider'));
    await runCli(['init', '--home', home('aggregator'), '--role', 'aggregator', '--port', String(await freePort()), '--connect', daemons.provider.url]);
    const config = YAML.parse(await readFile(join(home('aggregator'), 'config.yaml'), 'utf8')) as Record<string, unknown>;
    config.payments = { evm: { network: 'local', rpcUrl: chain.rpcUrl, token: chain.token } };
    await writeFile(join(home('aggregator'), 'config.yaml'), YAML.stringify(config));
    const wallet = await runCli(['wallet', 'init', '--home', home('aggregator'), '--json']);
    assert.equal(wallet.code, 0, wallet.stderr);
    aggregatorAddress = (JSON.parse(wallet.stdout) as { address: `0x${string}` }).address;
    await chain.reader.request({ method: 'hardhat_setBalance' as 'eth_chainId', params: [aggregatorAddress, numberToHex(10n ** 18n)] as never });
    // The aggregator's operator deploys its escrow with its own key; the address lands in its config.yaml.
    const deployed = await runCli(['wallet', 'deploy', '--home', home('aggregator'), '--json']);
    assert.equal(deployed.code, 0, deployed.stderr);
    escrow = (JSON.parse(deployed.stdout) as { escrow: `0x${string}` }).escrow;
    assert.match(await readFile(join(home('aggregator'), 'config.yaml'), 'utf8'), new RegExp(`escrow: "?${escrow}`));
    daemons.aggregator = await startDaemon(home('aggregator'));
    await eventually(async () => JSON.parse((await runCli(['status', '--home', home('aggregator'), '--json'])).stdout).daemon.peers.length > 0, 20_000, 'the aggregator to reach its provider');
    const { account } = await chain.newAccount(100_000_000n);
    client = new EscrowClient({ chain: chain.chain, rpcUrl: chain.rpcUrl, escrow, token: chain.token, account, pollingIntervalMs: 50 });
  });

  after(async () => {
    for (const daemon of Object.values(daemons)) await daemon.stop();
    await chain?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function deposit(jobId: string): Promise<void> {
    const block = await chain.reader.getBlock();
    await client.deposit({ jobId, provider: providerPayout, aggregator: aggregatorAddress, amount: AMOUNT, fee: FEE, deadline: block.timestamp + 600n });
  }

  async function submit(jobId: string, hooks: JobHooks = {}): Promise<unknown> {
    const session = await dialPeer(daemons.aggregator!.url, { identity: { key: clientKey, role: 'client', agent: 'test' }, limits, logger: silentLogger() });
    const spec = JobSpec.parse({ jobId, model: { name: 'stories260K' }, input: { prompt: 'Once upon a time' }, sampling: { maxTokens: 24 }, deadline: Date.now() + 60_000 });
    try {
      return await runJob(session, clientKey, spec, hooks).catch((error: unknown) => error);
    } finally {
      session.close();
    }
  }

  /** Reads the aggregator's ledger and jobs in its running daemon's PocketBase, as `infernet wallet` does. */
  async function aggregatorView<T>(read: (view: { ledger: PaymentLedger; jobState: (jobId: string) => Promise<string | undefined> }) => Promise<T>): Promise<T> {
    const aggregatorHome = nodeHome(home('aggregator'));
    const opened = await openNodeStore(aggregatorHome, await loadNodeConfig(aggregatorHome), silentLogger());
    try {
      return await read({ ledger: new PaymentLedger(opened.pocketbase!), jobState: async (jobId) => (await opened.store.get(jobId, 'aggregator'))?.state });
    } finally {
      await opened.close();
    }
  }

  /** Waits until the job's payment and the job itself reached their final states, and returns the payment. */
  async function settled(jobId: string, state: 'released' | 'refunded'): Promise<Payment> {
    return aggregatorView(async ({ ledger, jobState }) => {
      const jobTarget = state === 'released' ? 'settled' : 'refunded';
      await eventually(async () => (await ledger.find(jobId, 'aggregator', 'evm'))?.state === state && (await jobState(jobId)) === jobTarget, 30_000, `the payment ${state} and the job ${jobTarget}`);
      return (await ledger.find(jobId, 'aggregator', 'evm'))!;
    });
  }

  async function historyOf(jobId: string): Promise<PaymentView[]> {
    const result = await runCli(['wallet', 'history', '--home', home('aggregator'), '--json', '--job', jobId]);
    assert.equal(result.code, 0, result.stderr);
    return JSON.parse(result.stdout) as PaymentView[];
  }

  it('a job submitted with payment ends with the provider paid its amount, the aggregator its fee, and the job settled', async () => {
    const jobId = randomUUID();
    const providerBefore = await client.tokenBalance(providerPayout);
    const aggregatorBefore = await client.tokenBalance(aggregatorAddress);
    await deposit(jobId);
    const outcome = (await submit(jobId)) as { status?: string };
    assert.equal(outcome.status, 'completed');
    const payment = await settled(jobId, 'released');
    assert.equal(await client.tokenBalance(providerPayout), providerBefore + AMOUNT);
    assert.equal(await client.tokenBalance(aggregatorAddress), aggregatorBefore + FEE);
    assert.equal((await client.escrowOf(jobId)).status, 'released');
    assert.equal(payment.reference, await client.settlementTx(jobId));
    assert.equal(payment.details.verdict, 'unchecked', "released on the aggregator's verification outcome (policy none)");
    const [shown] = await historyOf(jobId);
    assert.deepEqual([shown?.state, shown?.decision, shown?.amount, shown?.reference], ['released', 'release', String(AMOUNT + FEE), payment.reference]);
  });

  it('a job whose provider cheats (a result signed by a key other than its own) ends with the client refunded', async () => {
    const cheater = await connectCheatingProvider(daemons.aggregator!.url);
    try {
      const jobId = randomUUID();
      const clientAddress = client.address!;
      const before = await client.tokenBalance(clientAddress);
      await deposit(jobId);
      const failure = await submit(jobId, { provider: cheater.key.publicKey });
      assert.match(String(failure), /failed verification/);
      const payment = await settled(jobId, 'refunded');
      assert.equal(payment.decision, 'refund');
      assert.equal(payment.details.jobState, 'failed', 'refunded because the job failed the result check');
      assert.equal(await client.tokenBalance(clientAddress), before);
      assert.equal((await client.escrowOf(jobId)).status, 'refunded');
    } finally {
      cheater.session.close();
    }
  });

  it('an aggregator SIGKILLed after verification, its release not yet mined, pays exactly once after restart', async () => {
    const jobId = randomUUID();
    const providerBefore = await client.tokenBalance(providerPayout);
    await deposit(jobId);
    const pendingReleases = async () => (await chain.reader.getBlock({ blockTag: 'pending', includeTransactions: true })).transactions.filter((tx) => tx.from.toLowerCase() === aggregatorAddress.toLowerCase()).length;
    await chain.setAutomine(false);
    try {
      assert.equal(((await submit(jobId)) as { status?: string }).status, 'completed');
      await eventually(async () => (await pendingReleases()) === 1, 20_000, 'the release to be sent');
      assert.equal((await aggregatorView(({ ledger }) => ledger.find(jobId, 'aggregator', 'evm')))?.decision, 'release', 'the decision is stored before the release is sent');
      await daemons.aggregator!.stop('SIGKILL');
      daemons.aggregator = await startDaemon(home('aggregator'));
      // The restarted aggregator finds its own release in the mempool and waits for it rather than send another.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      assert.equal(await pendingReleases(), 1);
      await chain.mine();
    } finally {
      await chain.setAutomine(true);
    }
    await settled(jobId, 'released');
    assert.equal(await client.tokenBalance(providerPayout), providerBefore + AMOUNT);
    assert.equal((await historyOf(jobId)).length, 1);
  });

  it('`wallet balance --json` shows the aggregator its fees on chain and its ledger by state', async () => {
    const result = await runCli(['wallet', 'balance', '--home', home('aggregator'), '--json']);
    assert.equal(result.code, 0, result.stderr);
    const balance = JSON.parse(result.stdout) as { evm: { address: string; chainId: number; escrow: string; tokenBalance: string }; ledger: Record<string, Record<string, string>> };
    assert.equal(balance.evm.address, aggregatorAddress);
    assert.equal(balance.evm.chainId, 31337);
    assert.equal(balance.evm.escrow, escrow);
    assert.equal(BigInt(balance.evm.tokenBalance), await client.tokenBalance(aggregatorAddress));
    assert.equal(balance.ledger.released?.['micro-usdc'], String(2n * (AMOUNT + FEE)));
    assert.equal(balance.ledger.refunded?.['micro-usdc'], String(AMOUNT + FEE));
  });
});

/**
 * A provider that accepts any job and answers with a result signed by another key: a forgery the aggregator
 * must catch. Built from the real transport, dialling the aggregator as providers behind NAT do.
 */
async function connectCheatingProvider(aggregatorUrl: string): Promise<{ key: NodeKey; session: PeerSession }> {
  const key = generateNodeKey();
  const forger = generateNodeKey();
  const session = await dialPeer(aggregatorUrl, {
    identity: { key, role: 'provider', agent: 'cheater', capabilities: () => ({ models: [{ name: 'stories260K' }], slots: 1 }) },
    limits,
    logger: silentLogger(),
  });
  session.onFrame((frame: Frame) => {
    if (frame.type !== 'job.offer') return;
    session.send({ type: 'job.accept', jobId: frame.jobId });
    const output = { jobId: frame.jobId, output: 'a story nobody computed', tokenIds: [1, 2, 3], finishReason: 'stop' as const, usage: { promptTokens: 4, completionTokens: 3 }, engine: 'none', timings: { firstTokenMs: 1, totalMs: 2 } };
    session.send({ type: 'job.result', jobId: frame.jobId, result: sealJobResult(forger, frame.spec.pubkey, frame.spec.id, output, 'stories260K') });
  });
  return { key, session };
}
