// A provider lost mid-job or refusing its offer is replaced: two providers of stories260K as real `infernet start`
// processes, an aggregator settling escrows on a local chain, and a client. The provider running a greedy job is
// SIGKILLed after its first tokens: the job finishes on the other provider with the text of an uninterrupted run,
// the client charged once and the killed provider paid nothing. Providers that reject the offer are replaced the
// same way, and a third loss fails the job naming each provider and why it was lost.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { numberToHex } from 'viem';
import YAML from 'yaml';
import { loadNodeConfig, nodeHome, validateNodeConfig } from '../../src/config/index.js';
import { generateNodeKey, npubOf } from '../../src/identity/index.js';
import { attemptPaymentId, type JobEvent, type JobRecord } from '../../src/jobs/index.js';
import { silentLogger } from '../../src/log/index.js';
import { sharedModelPath } from '../../src/models/shared-test-models.js';
import { aggregatorAttemptJobId, JobFailedError, runJob, runJobAcrossAggregators, type JobHooks, type JobOutcome } from '../../src/client/index.js';
import { openNodeStore } from '../../src/node/node-store.js';
import { EscrowClient, openJobPayer, signPayoutStatement, type JobPayer } from '../../src/payments/index.js';
import { startLocalChain, type LocalChain } from '../../src/payments/evm/local-chain.js';
import { JobSpec, type Price } from '../../src/protocol/index.js';
import { dialPeer, type PeerSession } from '../../src/transport/index.js';
import { eventually, freePort, runCli, startDaemon, type RunningDaemon } from '../support/cli.js';

const model = sharedModelPath('stories260K.gguf');
const PRICE: Price = { amount: '0.5', currency: 'USDC', per: '1k_tokens' };
const MAX_TOKENS = 400;
const AMOUNT = 200_000n; // 0.5 USDC per 1k tokens × 400 tokens, to the provider
const FEE = 10_000n; // the aggregator's default 500 bps
const limits = validateNodeConfig({}, 'test').limits;
const PROVIDERS = ['provider-a', 'provider-b'] as const;
const payoutOf = (name: string) => `0x${(name === 'provider-a' ? 'a1' : 'b2').repeat(20)}` as `0x${string}`;

describe('failover of an ordinary job to another provider (real daemons, local chain)', () => {
  let dir: string;
  let chain: LocalChain;
  let reader: EscrowClient;
  let payer: JobPayer;
  let clientAddress: `0x${string}`;
  let escrow: `0x${string}`;
  const clientKey = generateNodeKey();
  const daemons: Record<string, RunningDaemon> = {};
  const home = (name: string) => join(dir, name);
  const extraSessions: PeerSession[] = [];

  async function editConfig(name: string, edit: (config: Record<string, unknown>) => void): Promise<void> {
    const file = join(home(name), 'config.yaml');
    const config = YAML.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    edit(config);
    await writeFile(file, YAML.stringify(config));
  }

  async function fundGas(address: `0x${string}`): Promise<void> {
    await chain.reader.request({ method: 'hardhat_setBalance' as 'eth_chainId', params: [address, numberToHex(10n ** 18n)] as never });
  }

  async function newWallet(name: string): Promise<`0x${string}`> {
    const wallet = await runCli(['wallet', 'init', '--home', home(name), '--json']);
    assert.equal(wallet.code, 0, wallet.stderr);
    const address = (JSON.parse(wallet.stdout) as { address: `0x${string}` }).address;
    await fundGas(address);
    return address;
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'infernet-failover-'));
    chain = await startLocalChain();
    for (const name of PROVIDERS) {
      await runCli(['init', '--home', home(name), '--role', 'provider', '--port', String(await freePort()), '--model', model, '--sandbox', 'none', '--threads', '1']);
      await editConfig(name, (config) => {
        (config.provider as Record<string, unknown>).price = PRICE;
        config.payments = { payoutAddress: payoutOf(name) };
      });
      daemons[name] = await startDaemon(home(name));
    }
    await runCli(['init', '--home', home('aggregator'), '--role', 'aggregator', '--port', String(await freePort()), ...PROVIDERS.flatMap((name) => ['--connect', daemons[name]!.url])]);
    await editConfig('aggregator', (config) => (config.payments = { evm: { network: 'local', rpcUrl: chain.rpcUrl, token: chain.token } }));
    await newWallet('aggregator');
    const deployed = await runCli(['wallet', 'deploy', '--home', home('aggregator'), '--json']);
    assert.equal(deployed.code, 0, deployed.stderr);
    escrow = (JSON.parse(deployed.stdout) as { escrow: `0x${string}` }).escrow;
    daemons.aggregator = await startDaemon(home('aggregator'));
    await eventually(async () => JSON.parse((await runCli(['status', '--home', home('aggregator'), '--json'])).stdout).daemon.peers.length >= 2, 30_000, 'the aggregator to reach both providers');
    await runCli(['init', '--home', home('client'), '--role', 'client', '--connect', daemons.aggregator.url]);
    await editConfig('client', (config) => (config.payments = { evm: { network: 'local', rpcUrl: chain.rpcUrl, token: chain.token, escrow } }));
    clientAddress = await newWallet('client');
    await chain.mintTokens(clientAddress, 100_000_000n);
    reader = new EscrowClient({ chain: chain.chain, rpcUrl: chain.rpcUrl, escrow, token: chain.token, pollingIntervalMs: 50 });
    const clientNode = nodeHome(home('client'));
    payer = (await openJobPayer(clientNode, await loadNodeConfig(clientNode)))!;
  });

  after(async () => {
    for (const session of extraSessions) session.close();
    for (const daemon of Object.values(daemons)) await daemon.stop();
    await chain?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const greedySpec = () => JobSpec.parse({ jobId: randomUUID(), model: { name: 'stories260K' }, input: { prompt: 'Once upon a time' }, sampling: { maxTokens: MAX_TOKENS, temperature: 0 }, deadline: Date.now() + 120_000 });

  async function run(spec: JobSpec, hooks: JobHooks = {}): Promise<JobOutcome | JobFailedError> {
    const session = await dialPeer(daemons.aggregator!.url, { identity: { key: clientKey, role: 'client', agent: 'test' }, limits, logger: silentLogger() });
    try {
      return await runJob(session, clientKey, spec, { payer, ...hooks }).catch((error: unknown) => {
        if (error instanceof JobFailedError) return error;
        throw error;
      });
    } finally {
      session.close();
    }
  }

  /** The aggregator's record of a job and its persisted moves, read from its running daemon's store. */
  async function aggregatorRecord(jobId: string, until: (record: JobRecord | undefined) => boolean): Promise<{ record: JobRecord; events: JobEvent[] }> {
    const aggregatorHome = nodeHome(home('aggregator'));
    const opened = await openNodeStore(aggregatorHome, await loadNodeConfig(aggregatorHome), silentLogger());
    try {
      await eventually(async () => until(await opened.store.get(jobId, 'aggregator')), 30_000, `the aggregator's record of ${jobId}`);
      return { record: (await opened.store.get(jobId, 'aggregator'))!, events: (await opened.store.events(jobId)).filter((event) => event.role === 'aggregator') };
    } finally {
      await opened.close();
    }
  }

  async function escrowStatus(paymentId: string, status: string): Promise<void> {
    await eventually(async () => (await reader.escrowOf(paymentId)).status === status, 30_000, `escrow ${paymentId} ${status}`);
  }

  /** A provider that takes matches (its slots rank it first) and rejects every offer, as a full or broken one does. */
  async function connectRejectingProvider(modelName = 'stories260K'): Promise<{ publicKey: string; session: PeerSession }> {
    const key = generateNodeKey();
    const payout = `0x${'ee'.repeat(20)}`;
    // Signed as a real provider signs it: clients pay only the payout and price a provider signed.
    const payoutStatement = signPayoutStatement(key, { price: PRICE, evm: payout });
    const session = await dialPeer(daemons.aggregator!.url, {
      identity: { key, role: 'provider', agent: 'rejecter', capabilities: () => ({ models: [{ name: modelName }], slots: 8, price: PRICE, payout: { evm: payout }, payoutStatement }) },
      limits,
      logger: silentLogger(),
    });
    session.onFrame((frame) => {
      if (frame.type === 'job.offer') session.send({ type: 'job.reject', jobId: frame.jobId, code: 'busy', message: 'all 8 slots are busy' });
    });
    extraSessions.push(session);
    await eventually(async () => JSON.parse((await runCli(['status', '--home', home('aggregator'), '--json'])).stdout).daemon.peers.some((peer: { npub?: string }) => peer.npub === key.npub), 20_000, 'the aggregator to take the rejecting provider');
    return { publicKey: key.publicKey, session };
  }

  let reference: JobOutcome;

  it('a provider that rejects the offer is replaced the same way, its deposit refunded', async () => {
    // Before any job, so that no provider's reputation outranks the rejecter's free slots.
    const { publicKey: rejecter, session } = await connectRejectingProvider();
    const spec = { ...greedySpec(), sampling: { ...greedySpec().sampling, maxTokens: 24 } };
    const outcome = await run(spec);
    session.close();
    assert.ok(!(outcome instanceof JobFailedError), String(outcome));
    assert.deepEqual(outcome.lost?.map((loss) => [loss.provider, loss.code]), [[rejecter, 'busy']]);
    assert.notEqual(outcome.provider, rejecter);
    assert.equal(outcome.tokens, 24);
    await escrowStatus(spec.jobId, 'refunded');
    await escrowStatus(attemptPaymentId(spec.jobId, 2), 'released');
  });


  it('an uninterrupted greedy run, for reference: long enough to be killed part-way', async () => {
    const outcome = await run(greedySpec());
    assert.ok(!(outcome instanceof JobFailedError), String(outcome));
    reference = outcome;
    assert.ok(reference.tokens >= 100, `${reference.tokens} tokens`);
    assert.equal(reference.lost, undefined);
    await escrowStatus(reference.jobId, 'released');
  });

  it('SIGKILL of the provider running the job: it finishes on the other provider with identical text, the client charged once and the killed provider unpaid', async () => {
    const spec = greedySpec();
    const balances = async () => ({ client: await reader.tokenBalance(clientAddress), a: await reader.tokenBalance(payoutOf('provider-a')), b: await reader.tokenBalance(payoutOf('provider-b')) });
    const before = await balances();
    let victim: string | undefined;
    let killedAfter = 0;
    const outcome = await run(spec, {
      onMatched: (provider) => (victim ??= PROVIDERS.find((name) => daemons[name]!.npub === npubOf(provider))),
      onText: (_text, tokenIds) => {
        if (killedAfter) return;
        killedAfter = tokenIds.length;
        daemons[victim!]!.process.kill('SIGKILL');
      },
    });
    assert.ok(!(outcome instanceof JobFailedError), String(outcome));
    assert.ok(victim && killedAfter, 'the job streamed before the kill');
    const survivor = PROVIDERS.find((name) => name !== victim)!;
    assert.equal(outcome.output, reference.output, 'the text of an uninterrupted greedy run');
    assert.deepEqual(outcome.tokenIds, reference.tokenIds);
    assert.equal(outcome.providerNpub, daemons[survivor]!.npub, 'the survivor finished it');
    assert.deepEqual(outcome.lost?.map((loss) => [npubOf(loss.provider), loss.code]), [[daemons[victim]!.npub, 'provider_unreachable']]);

    // The killed provider's deposit goes back; the survivor's attempt is paid; the client paid once.
    await escrowStatus(spec.jobId, 'refunded');
    await escrowStatus(attemptPaymentId(spec.jobId, 2), 'released');
    const { record, events } = await aggregatorRecord(spec.jobId, (job) => job?.state === 'settled');
    const after = await balances();
    assert.equal(after.client, before.client - AMOUNT - FEE, 'charged once');
    const paid = (name: string) => after[name === 'provider-a' ? 'a' : 'b'] - before[name === 'provider-a' ? 'a' : 'b'];
    assert.equal(paid(victim), 0n, 'the killed provider is paid nothing');
    assert.equal(paid(survivor), AMOUNT);
    assert.equal(npubOf(record.provider!), daemons[survivor]!.npub);
    // Every move persisted, the failover among them with its reason.
    assert.deepEqual(events.map((event) => event.to), ['created', 'matched', 'dispatched', 'running', 'dispatched', 'matched', 'dispatched', 'running', 'completed', 'settled'].slice(events[0]?.to === 'created' ? 0 : 1));
    assert.match(events.find((event) => event.to === 'matched' && event.reason)?.reason ?? '', /attempt 2: matched provider .* after attempt 1 lost: provider [0-9a-f]{64} \(provider_unreachable/);
    // Restarted, the killed provider records its part of the job failed (and takes back its store's process).
    daemons[victim] = await startDaemon(home(victim));
    const victimJobs = JSON.parse((await runCli(['jobs', '--home', home(victim), '--json'])).stdout) as Array<{ jobId: string; state: string }>;
    assert.deepEqual(victimJobs.filter((job) => job.jobId === spec.jobId).map((job) => job.state), ['failed']);
  });

  it('three lost attempts fail the job, naming each provider and why it was lost; every deposit is refunded', async () => {
    // A model only rejecting providers serve: three of them, so that each attempt meets one.
    for (let i = 0; i < 3; i++) await connectRejectingProvider('stories260K-rejected');
    const spec = { ...greedySpec(), model: { name: 'stories260K-rejected' }, sampling: { ...greedySpec().sampling, maxTokens: 24 } };
    const clientBefore = await reader.tokenBalance(clientAddress);
    const failure = await run(spec);
    assert.ok(failure instanceof JobFailedError, 'the job failed');
    assert.equal(failure.code, 'busy');
    for (const text of ['attempt 1', 'attempt 2', 'attempt 3', 'all 8 slots are busy']) assert.ok(failure.message.includes(text), `${text} in ${failure.message}`);
    assert.equal(failure.message.match(/on provider [0-9a-f]{16}/g)?.length, 3);
    for (const attempt of [1, 2, 3]) await escrowStatus(attemptPaymentId(spec.jobId, attempt), 'refunded');
    assert.equal(await reader.tokenBalance(clientAddress), clientBefore, 'nothing charged');
    const { record } = await aggregatorRecord(spec.jobId, (job) => job?.state === 'failed' || job?.state === 'refunded');
    assert.match(record.error?.message ?? '', /attempt 3/);
  });

  it('SIGKILL of the aggregator mid-job: the job finishes through a second aggregator on the same escrow, the client charged once', async () => {
    // A second aggregator of both providers, settling on the same escrow contract with its own wallet.
    await runCli(['init', '--home', home('aggregator-2'), '--role', 'aggregator', '--port', String(await freePort()), ...PROVIDERS.flatMap((name) => ['--connect', daemons[name]!.url])]);
    await editConfig('aggregator-2', (config) => (config.payments = { evm: { network: 'local', rpcUrl: chain.rpcUrl, token: chain.token, escrow } }));
    await newWallet('aggregator-2');
    daemons['aggregator-2'] = await startDaemon(home('aggregator-2'));
    for (const name of ['aggregator', 'aggregator-2']) {
      await eventually(async () => JSON.parse((await runCli(['status', '--home', home(name), '--json'])).stdout).daemon.peers.length >= 2, 30_000, `${name} to reach both providers`);
    }
    const spec = greedySpec();
    const clientBefore = await reader.tokenBalance(clientAddress);
    const first = daemons.aggregator!.url;
    let streamed = 0;
    let killed = false;
    const { outcome, aggregator, lost } = await runJobAcrossAggregators({
      aggregators: [{ endpoint: first }, { endpoint: daemons['aggregator-2']!.url }],
      connect: (url) => dialPeer(url, { identity: { key: clientKey, role: 'client', agent: 'test' }, limits, logger: silentLogger() }),
      key: clientKey,
      spec,
      payer,
      logger: silentLogger(),
      hooks: {
        onText: (_text, tokenIds) => {
          streamed += tokenIds.length;
          if (killed || streamed < 12) return;
          killed = true;
          daemons.aggregator!.process.kill('SIGKILL');
        },
      },
    });
    assert.ok(killed, 'the job streamed before the kill');
    assert.deepEqual(lost.map((loss) => [loss.endpoint, loss.reason]), [[first, 'closed']]);
    assert.equal(aggregator, daemons['aggregator-2']!.url);
    assert.equal(outcome.output, reference.output, 'the text of an uninterrupted greedy run');
    // The second aggregator's part, under its own job id, is paid; the first one's deposit waits for it to come back.
    const continued = aggregatorAttemptJobId(spec.jobId, 2);
    await escrowStatus(continued, 'released');
    const paidSecond = await reader.escrowOf(continued);
    // Restarted, the first aggregator fails the job it was relaying when it died, and its settlement refunds it.
    await daemons.aggregator!.stop();
    daemons.aggregator = await startDaemon(home('aggregator'));
    await escrowStatus(spec.jobId, 'refunded');
    assert.equal(await reader.tokenBalance(clientAddress), clientBefore - paidSecond.amount - paidSecond.fee, 'charged once: the part the second aggregator relayed');
    const { record } = await aggregatorRecord(spec.jobId, (job) => job?.error?.code === 'interrupted' && (job.state === 'refunded' || job.state === 'failed'));
    assert.equal(record.error?.code, 'interrupted');
  });
});
