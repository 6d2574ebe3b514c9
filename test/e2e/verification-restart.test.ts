// The attack on verification through a restart, with real parts: a local chain with the escrow, three in-process
// providers (two honest, one whose engine forges every output) each paid through the escrow, and an aggregator
// that is a real `infernet start` process with its PocketBase. A client pays three runs of one job under
// redundant(2); while their verdict is still to come, the aggregator is SIGKILLed and started again on the same
// home. No run may be paid before its verdict, and the verdict sent after the restart must still refund the client
// for the run found wrong: the aggregator used to release every completed run on restart and then refuse the
// late verdict as "not relayed here".
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
import { payJobsThrough, runJob, type JobOutcome } from '../../src/client/index.js';
import { NodeDaemon } from '../../src/node/node-daemon.js';
import { startLocalChain, type LocalChain } from '../../src/payments/evm/local-chain.js';
import { ClientJobPayer, EscrowClient, initWallet } from '../../src/payments/index.js';
import { JobSpec, type FrameOf } from '../../src/protocol/index.js';
import { dialPeer, type PeerSession } from '../../src/transport/index.js';
import { settleRuns } from '../../src/verification/index.js';
import { LyingEngine } from '../../src/verification/testing/lying-engine.js';
import { eventually, freePort, runCli, startDaemon, type RunningDaemon } from '../support/cli.js';

const model = sharedModelPath('stories260K.gguf');
const logger = silentLogger();
const AMOUNT = 3_000_000n; // 125 USDC per 1k tokens × 24 tokens
const FEE = 150_000n; // the aggregator's default 500 bps
const POLICY = { kind: 'redundant', k: 2 } as const;
const limits = validateNodeConfig({}, 'test').limits;

interface InProcessProvider {
  daemon: NodeDaemon;
  key: NodeKey;
  home: string;
  payout: `0x${string}`;
}

async function startProvider(engine: InferenceEngine): Promise<InProcessProvider> {
  const home = await mkdtemp(join(tmpdir(), 'infernet-verify-restart-provider-'));
  const key = generateNodeKey();
  const payout = privateKeyToAccount(generatePrivateKey()).address;
  const input: NodeConfigInput = { role: 'provider', models: [model], storage: { backend: 'file' }, provider: { slots: 2, sandbox: 'none', price: { amount: '125', currency: 'USDC', per: '1k_tokens' } }, payments: { payoutAddress: payout } };
  await saveNodeKey(nodeHome(home).keyFile, key);
  const config = validateNodeConfig({ listen: { port: 0 }, ...input }, 'test');
  const daemon = await NodeDaemon.start({ home: nodeHome(home), config, key, logger, writeState: false, engine });
  return { daemon, key, home, payout };
}

const llama = (): InferenceEngine => new LlamaCppEngine({ threads: 1, contextSize: 256, slots: 2 });

async function aggregatorJobStates(home: string, jobIds: readonly string[]): Promise<string[]> {
  const result = await runCli(['jobs', '--home', home, '--json']);
  assert.equal(result.code, 0, result.stderr);
  const jobs = JSON.parse(result.stdout) as Array<{ jobId: string; role: string; state: string }>;
  return jobIds.map((jobId) => jobs.find((job) => job.jobId === jobId && job.role === 'aggregator')?.state ?? 'none');
}

describe('verification verdicts survive an aggregator SIGKILL (local chain, aggregator as a process)', () => {
  let chain: LocalChain;
  let honest1: InProcessProvider;
  let honest2: InProcessProvider;
  let liar: InProcessProvider;
  let aggregatorHome: string;
  let aggregator: RunningDaemon | undefined;
  let client: EscrowClient;
  const clientKey = generateNodeKey();
  const sessions: PeerSession[] = [];

  const connectClient = async (url: string): Promise<PeerSession> => {
    const session = await dialPeer(url, { identity: { key: clientKey, role: 'client', agent: 'test' }, limits, logger });
    sessions.push(session);
    return session;
  };

  before(async () => {
    chain = await startLocalChain();
    [honest1, honest2, liar] = await Promise.all([startProvider(llama()), startProvider(llama()), startProvider(new LyingEngine(llama(), () => true))]);
    aggregatorHome = await mkdtemp(join(tmpdir(), 'infernet-verify-restart-aggregator-'));
    await saveNodeKey(nodeHome(aggregatorHome).keyFile, generateNodeKey());
    const { wallet } = await initWallet(join(aggregatorHome, 'wallet.json'));
    await chain.reader.request({ method: 'hardhat_setBalance' as 'eth_chainId', params: [wallet.evm!.address, numberToHex(10n ** 18n)] as never });
    const config: NodeConfigInput = {
      role: 'aggregator',
      listen: { port: await freePort() },
      connect: [honest1, honest2, liar].map((node) => node.daemon.url!),
      payments: { evm: { network: 'local', rpcUrl: chain.rpcUrl, escrow: chain.escrow, token: chain.token } },
    };
    await writeFile(nodeHome(aggregatorHome).configFile, stringify(config));
    aggregator = await startDaemon(aggregatorHome);
    const { account } = await chain.newAccount(100_000_000n);
    client = new EscrowClient({ chain: chain.chain, rpcUrl: chain.rpcUrl, escrow: chain.escrow, token: chain.token, account, pollingIntervalMs: 50 });
  });

  after(async () => {
    for (const session of sessions) session.close();
    await aggregator?.stop();
    for (const node of [liar, honest2, honest1]) await node?.daemon.stop();
    await chain?.stop();
    for (const dir of [aggregatorHome, ...[liar, honest2, honest1].map((node) => node?.home)]) if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('keeps every run of a paid redundant(2) job unpaid through the restart, then refunds the run its late verdict finds wrong', async () => {
    const session = await connectClient(aggregator!.url);
    payJobsThrough(session, new ClientJobPayer({ escrow: client, maxFeeBps: 1000 }));
    const balanceBefore = await client.tokenBalance(client.address!);
    // The client's side of redundant(2) by hand, so that its verdict can wait for the restart: the forger runs the
    // job, the first honest check disagrees, and the second (the settling run) sides with the check.
    const spec = JobSpec.parse({ jobId: randomUUID(), model: { name: 'stories260K' }, input: { prompt: 'Once upon a time' }, sampling: { maxTokens: 24, temperature: 0 }, deadline: Date.now() + 120_000, verification: POLICY });
    await eventually(async () => JSON.parse((await runCli(['status', '--home', aggregatorHome, '--json'])).stdout).daemon.peers.length >= 3, 20_000, 'the aggregator to reach its three providers');
    const runs: JobOutcome[] = [];
    // The forger runs the job (named); the aggregator draws each check's provider among the others.
    runs.push(await runJob(session, clientKey, spec, { provider: liar.key.publicKey }));
    for (let check = 0; check < 2; check++) runs.push(await runJob(session, clientKey, { ...spec, jobId: randomUUID() }, { checkOf: spec.jobId }));
    assert.deepEqual(new Set(runs.slice(1).map((run) => run.provider)), new Set([honest1.key.publicKey, honest2.key.publicKey]), 'the checks were drawn among the providers that had not run the job');
    const settled = settleRuns(runs.map((run) => ({ outputHash: run.outputHash!, tokenIds: run.tokenIds, ...(run.fingerprints ? { fingerprints: run.fingerprints } : {}) })), 3);
    assert.deepEqual(settled.verdicts, ['failed', 'verified', 'verified'], 'the forged run is outvoted');
    const runIds = runs.map((run) => run.jobId);
    assert.deepEqual(await aggregatorJobStates(aggregatorHome, runIds), ['verifying', 'verifying', 'verifying'], 'each run awaits its verdict');

    aggregator!.process.kill('SIGKILL');
    await aggregator!.stop();
    aggregator = await startDaemon(aggregatorHome);

    // Started (listening) means the restarted aggregator has run its settlement resume and reloaded the runs.
    assert.deepEqual(await aggregatorJobStates(aggregatorHome, runIds), ['verifying', 'verifying', 'verifying'], 'a restart pays no run before its verdict');
    for (const jobId of runIds) assert.equal((await client.escrowOf(jobId)).status, 'deposited', `the escrow of ${jobId} is untouched`);

    const verdict: FrameOf<'job.verdict'> = { v: 1, type: 'job.verdict', jobId: spec.jobId, policy: POLICY, runs: runs.map((run, i) => ({ jobId: run.jobId, provider: run.provider, verdict: settled.verdicts![i]!, fingerprints: run.fingerprints! })) };
    const refusals: string[] = [];
    const late = await connectClient(aggregator.url);
    late.onFrame((frame) => void (frame.type === 'error' && refusals.push(frame.message)));
    late.send(verdict);

    await eventually(async () => (await Promise.all(runIds.map(async (jobId) => (await client.escrowOf(jobId)).status))).join() === 'refunded,released,released' || refusals.length > 0, 60_000, 'the escrows settled by the late verdict');
    assert.deepEqual(refusals, [], 'the late verdict is accepted');
    assert.equal(await client.tokenBalance(liar.payout), 0n, 'the forger is not paid');
    assert.equal(await client.tokenBalance(honest1.payout), AMOUNT);
    assert.equal(await client.tokenBalance(honest2.payout), AMOUNT);
    assert.equal(await client.tokenBalance(client.address!), balanceBefore - 2n * (AMOUNT + FEE), "the forged run's deposit came back in full");
    await eventually(async () => (await aggregatorJobStates(aggregatorHome, runIds)).join() === 'refunded,settled,settled', 30_000, 'the jobs recorded refunded and settled');
  });
});
