// Jobs that pay for themselves through the JobEscrow on a real local chain: a provider with a price in USDC and a
// payout address, an aggregator settling escrows and a client with payments.evm as real processes. `infernet
// submit` reads the match's terms, deposits and only then offers the job; the provider is paid for a good result,
// the client refunded for a forged one; wrong terms, missing deposits and unfunded wallets are refused by name;
// and an aggregator SIGKILLed with its release unmined pays exactly once after its restart.
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
import { JobFailedError, runJob, type JobHooks } from '../../src/client/index.js';
import { openNodeStore } from '../../src/node/node-store.js';
import { sealJobResult } from '../../src/jobs/job-envelopes.js';
import { EscrowClient, openJobPayer, PaymentLedger, signPayoutStatement, type ClientJobPayer, type JobPayer, type Payment } from '../../src/payments/index.js';
import { startLocalChain, type LocalChain } from '../../src/payments/evm/local-chain.js';
import { JobSpec, type Frame, type Price } from '../../src/protocol/index.js';
import { dialPeer, PeerServer, type PeerSession } from '../../src/transport/index.js';
import { eventually, freePort, runCli, startDaemon, type RunningDaemon } from '../support/cli.js';

const model = sharedModelPath('stories260K.gguf');
const PRICE: Price = { amount: '0.5', currency: 'USDC', per: '1k_tokens' };
const MAX_TOKENS = 24;
const AMOUNT = 12_000n; // 0.5 USDC per 1k tokens × 24 tokens, to the provider
const FEE = 600n; // the aggregator's default 500 bps
const limits = validateNodeConfig({}, 'test').limits;

interface PaymentView {
  jobId: string;
  role: string;
  direction: string;
  state: string;
  decision?: string;
  amount: string;
  reference: string;
}

interface SubmitJson {
  jobId: string;
  status: string;
  payment?: { rail: string; amount: string; unit: string; state: string; txHash?: string };
  error?: { code: string; name: string; message: string };
}

describe('jobs that pay for themselves through the escrow (local chain, real daemons, infernet submit)', () => {
  let dir: string;
  let chain: LocalChain;
  let reader: EscrowClient;
  let payer: ClientJobPayer;
  let clientAddress: `0x${string}`;
  let aggregatorAddress: `0x${string}`;
  let escrow: `0x${string}`;
  const providerPayout = `0x${'5e'.repeat(20)}` as const;
  const clientKey = generateNodeKey();
  const daemons: Record<string, RunningDaemon> = {};
  const home = (name: string) => join(dir, name);

  async function editConfig(name: string, edit: (config: Record<string, unknown>) => void): Promise<void> {
    const file = join(home(name), 'config.yaml');
    const config = YAML.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    edit(config);
    await writeFile(file, YAML.stringify(config));
  }

  async function fundGas(address: `0x${string}`): Promise<void> {
    await chain.reader.request({ method: 'hardhat_setBalance' as 'eth_chainId', params: [address, numberToHex(10n ** 18n)] as never });
  }

  /** A client home with payments.evm on the aggregator's escrow and a wallet of its own, funded with `tokens`. */
  async function clientHome(name: string, tokens: bigint, extraInit: string[] = []): Promise<`0x${string}`> {
    await runCli(['init', '--home', home(name), '--role', 'client', '--connect', daemons.aggregator!.url, ...extraInit]);
    await editConfig(name, (config) => (config.payments = { evm: { network: 'local', rpcUrl: chain.rpcUrl, token: chain.token, escrow } }));
    const wallet = await runCli(['wallet', 'init', '--home', home(name), '--json']);
    assert.equal(wallet.code, 0, wallet.stderr);
    const address = (JSON.parse(wallet.stdout) as { address: `0x${string}` }).address;
    await fundGas(address);
    if (tokens) await chain.mintTokens(address, tokens);
    return address;
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'infernet-payments-'));
    chain = await startLocalChain();
    await runCli(['init', '--home', home('provider'), '--role', 'provider', '--port', String(await freePort()), '--model', model, '--sandbox', 'none']);
    // The provider's price and where it is paid: told to its aggregator in its capabilities.
    await editConfig('provider', (config) => {
      (config.provider as Record<string, unknown>).price = PRICE;
      config.payments = { payoutAddress: providerPayout };
    });
    daemons.provider = await startDaemon(home('provider'));
    await runCli(['init', '--home', home('aggregator'), '--role', 'aggregator', '--port', String(await freePort()), '--connect', daemons.provider.url]);
    await editConfig('aggregator', (config) => (config.payments = { evm: { network: 'local', rpcUrl: chain.rpcUrl, token: chain.token } }));
    const wallet = await runCli(['wallet', 'init', '--home', home('aggregator'), '--json']);
    assert.equal(wallet.code, 0, wallet.stderr);
    aggregatorAddress = (JSON.parse(wallet.stdout) as { address: `0x${string}` }).address;
    await fundGas(aggregatorAddress);
    // The aggregator's operator deploys its escrow with its own key; the address lands in its config.yaml.
    const deployed = await runCli(['wallet', 'deploy', '--home', home('aggregator'), '--json']);
    assert.equal(deployed.code, 0, deployed.stderr);
    escrow = (JSON.parse(deployed.stdout) as { escrow: `0x${string}` }).escrow;
    daemons.aggregator = await startDaemon(home('aggregator'));
    await eventually(async () => JSON.parse((await runCli(['status', '--home', home('aggregator'), '--json'])).stdout).daemon.peers.length > 0, 20_000, 'the aggregator to reach its provider');
    clientAddress = await clientHome('client', 100_000_000n);
    reader = new EscrowClient({ chain: chain.chain, rpcUrl: chain.rpcUrl, escrow, token: chain.token, pollingIntervalMs: 50 });
    // Where the CLI cannot be used (a chosen provider, a killed aggregator), runJob pays with the client home's own payer.
    const clientNode = nodeHome(home('client'));
    payer = (await openJobPayer(clientNode, await loadNodeConfig(clientNode)))!;
  });

  after(async () => {
    for (const daemon of Object.values(daemons)) await daemon.stop();
    await chain?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function submitCli(name: string, extra: string[] = []): Promise<{ code: number | null; json: SubmitJson; stderr: string }> {
    const result = await runCli(['submit', '--home', home(name), '--model', 'stories260K', '--prompt', 'Once upon a time', '--max-tokens', String(MAX_TOKENS), ...extra, '--json'], { timeoutMs: 90_000 });
    return { code: result.code, json: JSON.parse(result.stdout.trim().split('\n').at(-1) ?? '{}') as SubmitJson, stderr: result.stderr };
  }

  async function submit(url: string, jobId: string, hooks: JobHooks = {}): Promise<unknown> {
    const session = await dialPeer(url, { identity: { key: clientKey, role: 'client', agent: 'test' }, limits, logger: silentLogger() });
    const spec = JobSpec.parse({ jobId, model: { name: 'stories260K' }, input: { prompt: 'Once upon a time' }, sampling: { maxTokens: MAX_TOKENS }, deadline: Date.now() + 60_000 });
    try {
      return await runJob(session, clientKey, spec, hooks).catch((error: unknown) => error);
    } finally {
      session.close();
    }
  }

  /** Reads the aggregator's ledger and jobs in its running daemon's PocketBase, as `infernet wallet` does. */
  async function aggregatorView<T>(read: (view: { ledger: PaymentLedger; job: (jobId: string) => ReturnType<Awaited<ReturnType<typeof openNodeStore>>['store']['get']> }) => Promise<T>): Promise<T> {
    const aggregatorHome = nodeHome(home('aggregator'));
    const opened = await openNodeStore(aggregatorHome, await loadNodeConfig(aggregatorHome), silentLogger());
    try {
      return await read({ ledger: new PaymentLedger(opened.pocketbase!), job: (jobId) => opened.store.get(jobId, 'aggregator') });
    } finally {
      await opened.close();
    }
  }

  /** Waits until the job's payment and the job itself reached their final states, and returns the payment. */
  async function settled(jobId: string, state: 'released' | 'refunded'): Promise<Payment> {
    return aggregatorView(async ({ ledger, job }) => {
      const jobTarget = state === 'released' ? 'settled' : 'refunded';
      await eventually(async () => (await ledger.find(jobId, 'aggregator', 'evm'))?.state === state && (await job(jobId))?.state === jobTarget, 30_000, `the payment ${state} and the job ${jobTarget}`);
      return (await ledger.find(jobId, 'aggregator', 'evm'))!;
    });
  }

  async function historyOf(jobId: string, name = 'aggregator'): Promise<PaymentView[]> {
    const result = await runCli(['wallet', 'history', '--home', home(name), '--json', '--job', jobId]);
    assert.equal(result.code, 0, result.stderr);
    return JSON.parse(result.stdout) as PaymentView[];
  }

  it('`infernet submit` deposits the terms of its match by itself: the provider is paid its price, the aggregator its fee, the job settled', async () => {
    const providerBefore = await reader.tokenBalance(providerPayout);
    const aggregatorBefore = await reader.tokenBalance(aggregatorAddress);
    const clientBefore = await reader.tokenBalance(clientAddress);
    const { code, json, stderr } = await submitCli('client');
    assert.equal(code, 0, stderr);
    assert.equal(json.status, 'completed');
    assert.deepEqual([json.payment?.rail, json.payment?.amount, json.payment?.unit, json.payment?.state], ['evm', String(AMOUNT + FEE), 'micro-usdc', 'held']);
    assert.match(json.payment?.txHash ?? '', /^0x[0-9a-f]{64}$/);
    const payment = await settled(json.jobId, 'released');
    assert.equal(await reader.tokenBalance(providerPayout), providerBefore + AMOUNT);
    assert.equal(await reader.tokenBalance(aggregatorAddress), aggregatorBefore + FEE);
    assert.equal(await reader.tokenBalance(clientAddress), clientBefore - AMOUNT - FEE);
    const deposit = await reader.escrowOf(json.jobId);
    assert.deepEqual([deposit.status, deposit.client, deposit.provider.toLowerCase(), deposit.aggregator], ['released', clientAddress, providerPayout, aggregatorAddress]);
    assert.equal(payment.reference, await reader.settlementTx(json.jobId));
    assert.equal(payment.details.verdict, 'unchecked', "released on the aggregator's verification outcome (policy none)");
    const [shown] = await historyOf(json.jobId);
    assert.deepEqual([shown?.state, shown?.decision, shown?.amount, shown?.reference], ['released', 'release', String(AMOUNT + FEE), payment.reference]);
    const [mine] = await historyOf(json.jobId, 'client');
    assert.deepEqual([mine?.role, mine?.direction, mine?.state, mine?.amount, mine?.reference], ['client', 'outgoing', 'held', String(AMOUNT + FEE), json.payment?.txHash], "the client's own ledger has its deposit");
  });

  it('a job whose provider cheats (a result signed by a key other than its own) ends with the client refunded', async () => {
    const cheaterPayout = `0x${'c4'.repeat(20)}` as const;
    const cheater = await connectCheatingProvider(daemons.aggregator!.url, { price: PRICE, payout: cheaterPayout });
    try {
      const jobId = randomUUID();
      const before = await reader.tokenBalance(clientAddress);
      const failure = await submit(daemons.aggregator!.url, jobId, { provider: cheater.key.publicKey, payer });
      assert.match(String(failure), /failed verification/);
      assert.equal((await reader.escrowOf(jobId)).provider.toLowerCase(), cheaterPayout, 'the deposit named the payout address the provider announced');
      const payment = await settled(jobId, 'refunded');
      assert.equal(payment.decision, 'refund');
      assert.equal(payment.details.jobState, 'failed', 'refunded because the job failed the result check');
      assert.equal(await reader.tokenBalance(clientAddress), before);
      assert.equal(await reader.tokenBalance(cheaterPayout), 0n);
      assert.equal((await reader.escrowOf(jobId)).status, 'refunded');
    } finally {
      cheater.session.close();
    }
  });

  it('refuses, depositing nothing, the terms of a malicious aggregator that names another escrow', async () => {
    const thief = `0x${'7f'.repeat(20)}`;
    const fake = await startMaliciousAggregator((terms) => ({ ...terms, escrow: thief }), { chainId: 31337, escrow, token: chain.token, aggregator: aggregatorAddress, provider: providerPayout });
    try {
      const before = await reader.tokenBalance(clientAddress);
      const failure = await submit(fake.url, randomUUID(), { payer });
      assert.ok(failure instanceof JobFailedError);
      assert.equal(failure.code, 'payment_refused');
      assert.match(failure.message, new RegExp(`escrow ${thief}.*not this node's payments.evm.escrow`, 'i'));
      assert.equal(fake.offers(), 0, 'the job was never offered');
      assert.equal(await reader.tokenBalance(clientAddress), before);
    } finally {
      await fake.close();
    }
  });

  it('refuses an offer that comes without its deposit: nothing runs, the job fails payment_missing', async () => {
    const jobId = randomUUID();
    // A client that claims to have paid but deposits nothing.
    const liar: JobPayer = { rails: ['evm'], pay: async () => ({ rail: 'evm', amount: '0', unit: 'micro-usdc', state: 'held' }) };
    const accepted: string[] = [];
    const failure = await submit(daemons.aggregator!.url, jobId, { payer: liar, onAccepted: () => accepted.push(jobId) });
    assert.ok(failure instanceof JobFailedError);
    assert.equal(failure.code, 'payment_missing');
    assert.match(failure.message, /no deposit/);
    assert.deepEqual(accepted, []);
    const job = await aggregatorView(({ job }) => job(jobId));
    assert.deepEqual([job?.state, job?.error?.code], ['failed', 'payment_missing']);
  });

  it('`submit --max-price` below the provider\'s price matches no provider and deposits nothing', async () => {
    const clientBefore = await reader.tokenBalance(clientAddress);
    const { code, json } = await submitCli('client', ['--max-price', '0.1 USDC']);
    assert.equal(code, 1);
    assert.equal(json.status, 'failed');
    assert.equal(await reader.tokenBalance(clientAddress), clientBefore);
    const bad = await runCli(['submit', '--home', home('client'), '--model', 'stories260K', '--prompt', 'x', '--max-price', 'cheap', '--json']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /--max-price must be "AMOUNT CURRENCY"/);
  });

  it("a completion through a client node's OpenAI-compatible API pays for its job by itself", async () => {
    const apiClient = await clientHome('api-client', 100_000_000n, ['--api-port', '0']);
    const created = await runCli(['apikey', 'create', '--home', home('api-client'), '--label', 'tests']);
    assert.equal(created.code, 0, created.stderr);
    daemons.apiClient = await startDaemon(home('api-client'), { until: 'api' });
    const providerBefore = await reader.tokenBalance(providerPayout);
    const response = await fetch(`${daemons.apiClient.api}/v1/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${created.stdout.trim()}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'stories260K', prompt: 'Once upon a time', max_tokens: MAX_TOKENS, temperature: 0 }),
    });
    assert.equal(response.status, 200, await response.clone().text());
    const body = (await response.json()) as { choices: { text: string }[] };
    assert.ok(body.choices[0]?.text.length);
    assert.equal(await reader.tokenBalance(apiClient), 100_000_000n - AMOUNT - FEE, 'the API client deposited the terms of its match');
    await eventually(async () => (await reader.tokenBalance(providerPayout)) === providerBefore + AMOUNT, 30_000, 'the provider paid for the API job');
  });

  it('refuses with payment_required a client that pays on no rail', async () => {
    const failure = await submit(daemons.aggregator!.url, randomUUID());
    assert.ok(failure instanceof JobFailedError);
    assert.equal(failure.code, 'payment_required');
    assert.match(failure.message, /configure payments.evm on the client/);
  });

  it('`infernet submit --json` from an unfunded wallet exits non-zero with a named error and deposits nothing', async () => {
    const poor = await clientHome('poor-client', 0n);
    const { code, json } = await submitCli('poor-client');
    assert.equal(code, 1);
    assert.equal(json.status, 'failed');
    assert.deepEqual([json.error?.code, json.error?.name], ['payment_failed', 'InsufficientTokenBalanceError']);
    assert.match(json.error?.message ?? '', new RegExp(`${poor} holds 0.000000 .* needs 0.012600`));
    assert.equal((await reader.escrowOf(json.jobId)).status, 'none');
  });

  it('an aggregator SIGKILLed after verification, its release not yet mined, pays exactly once after restart', async () => {
    const jobId = randomUUID();
    const providerBefore = await reader.tokenBalance(providerPayout);
    const pendingReleases = async () => (await chain.reader.getBlock({ blockTag: 'pending', includeTransactions: true })).transactions.filter((tx) => tx.from.toLowerCase() === aggregatorAddress.toLowerCase()).length;
    let deposited = false;
    const outcome = await submit(daemons.aggregator!.url, jobId, {
      payer,
      // Blocks are mined on demand from here: the deposit was mined, the release will wait in the mempool.
      onPaid: () => void chain.setAutomine(false).then(() => (deposited = true)),
    });
    try {
      assert.equal((outcome as { status?: string }).status, 'completed');
      await eventually(() => deposited, 5_000, 'automine off');
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
    assert.equal(await reader.tokenBalance(providerPayout), providerBefore + AMOUNT);
    assert.equal((await historyOf(jobId)).length, 1);
  });

  it('`wallet balance --json` shows the aggregator its fees on chain and its ledger by state', async () => {
    const result = await runCli(['wallet', 'balance', '--home', home('aggregator'), '--json']);
    assert.equal(result.code, 0, result.stderr);
    const balance = JSON.parse(result.stdout) as { evm: { address: string; chainId: number; escrow: string; tokenBalance: string }; ledger: Record<string, Record<string, string>> };
    assert.equal(balance.evm.address, aggregatorAddress);
    assert.equal(balance.evm.chainId, 31337);
    assert.equal(balance.evm.escrow, escrow);
    assert.equal(BigInt(balance.evm.tokenBalance), await reader.tokenBalance(aggregatorAddress));
    // Released: the job `submit` paid, the one whose aggregator was SIGKILLed, and the API's.
    assert.equal(balance.ledger.released?.['micro-usdc'], String(3n * (AMOUNT + FEE)));
    assert.equal(balance.ledger.refunded?.['micro-usdc'], String(AMOUNT + FEE));
  });
});

/**
 * A provider that accepts any job and answers with a result signed by another key: a forgery the aggregator
 * must catch. Built from the real transport, dialling the aggregator as providers behind NAT do.
 */
async function connectCheatingProvider(aggregatorUrl: string, pay: { price: Price; payout: `0x${string}` }): Promise<{ key: NodeKey; session: PeerSession }> {
  const key = generateNodeKey();
  const forger = generateNodeKey();
  // Its payout signed with its own key, as a real provider signs it: the client pays it, then the aggregator refunds.
  const payoutStatement = signPayoutStatement(key, { price: pay.price, evm: pay.payout });
  const session = await dialPeer(aggregatorUrl, {
    identity: { key, role: 'provider', agent: 'cheater', capabilities: () => ({ models: [{ name: 'stories260K' }], slots: 1, price: pay.price, payout: { evm: pay.payout }, payoutStatement }) },
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

type EvmTermsOf = Extract<NonNullable<Extract<Frame, { type: 'job.match' }>['payment']>, { rail: 'evm' }>;

/** An aggregator (the real transport, a forged matching) that matches every job with the terms `tamper` returns. */
async function startMaliciousAggregator(tamper: (terms: EvmTermsOf) => EvmTermsOf, fair: Omit<EvmTermsOf, 'rail' | 'amount' | 'fee' | 'deadline'>): Promise<{ url: string; offers: () => number; close: () => Promise<void> }> {
  const key = generateNodeKey();
  let offers = 0;
  const server = await PeerServer.listen({
    host: '127.0.0.1',
    port: 0,
    identity: { key, role: 'aggregator', agent: 'thief' },
    limits,
    logger: silentLogger(),
    onSession: (session) =>
      session.onFrame((frame) => {
        if (frame.type === 'job.offer') offers++;
        if (frame.type !== 'job.request') return;
        const terms: EvmTermsOf = { rail: 'evm', ...fair, amount: String(AMOUNT), fee: String(FEE), deadline: Math.ceil(frame.deadline / 1000) + 600 };
        session.send({ type: 'job.match', jobId: frame.jobId, provider: generateNodeKey().publicKey, price: PRICE, payment: tamper(terms) });
      }),
  });
  return { url: server.url, offers: () => offers, close: () => server.close() };
}
