// Attacks 2 and 8 of the threat model: free work from a USDC-priced provider, and work before payment. Any peer
// may dial a provider's published endpoint as an "aggregator" and send it offers; the provider must see a deposit
// to its own payout, in its own escrow on its own chain client, before it fetches, loads or runs anything. On the
// real local chain (hardhat) with an in-process provider daemon (llama.cpp, stories260K) over a real socket.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { stringify } from 'yaml';
import { nodeHome, validateNodeConfig, type NodeConfigInput } from '../../src/config/index.js';
import { generateNodeKey, saveNodeKey, type NodeKey } from '../../src/identity/index.js';
import { LlamaCppEngine, type GenerationRequest, type InferenceEngine } from '../../src/inference/index.js';
import { silentLogger } from '../../src/log/index.js';
import { sharedModelPath } from '../../src/models/shared-test-models.js';
import { sealJobSpec } from '../../src/jobs/job-envelopes.js';
import { NodeDaemon } from '../../src/node/node-daemon.js';
import { startLocalChain, type LocalChain } from '../../src/payments/evm/local-chain.js';
import { EscrowClient } from '../../src/payments/index.js';
import { JobSpec, type Frame, type Price } from '../../src/protocol/index.js';
import { dialPeer, type PeerSession } from '../../src/transport/index.js';

const model = sharedModelPath('stories260K.gguf');
const logger = silentLogger();
const PRICE: Price = { amount: '0.5', currency: 'USDC', per: '1k_tokens' };
const MAX_TOKENS = 24;
const AMOUNT = 12_000n; // 0.5 USDC per 1k tokens × 24 tokens
const FEE = 600n;
const SETTLEMENT_WINDOW_S = 600;
/** A model the provider lacks, named by a well-formed content id: an unpaid offer must not make it fetch this. */
const FOREIGN_MODEL = { name: 'foreign-model', cid: 'bafkreicysg23kiwv34eg2d7qweipxwosdo2py4ldv42nbauguluen5v6am' };

/** The provider's real engine, counting what it is asked to generate: an unpaid offer must leave it at zero. */
class CountingEngine implements InferenceEngine {
  generated = 0;
  constructor(private readonly inner: InferenceEngine) {}
  get id(): string {
    return this.inner.id;
  }
  get continuesGenerations(): boolean | undefined {
    return this.inner.continuesGenerations;
  }
  generate(request: GenerationRequest) {
    this.generated++;
    return this.inner.generate(request);
  }
  preload(modelPath: string) {
    return this.inner.preload(modelPath);
  }
  close() {
    return this.inner.close();
  }
}

describe('attacks 2 and 8: a peer posing as an aggregator asks a USDC-priced provider for unpaid work', () => {
  let chain: LocalChain;
  let home: string;
  let provider: NodeDaemon;
  let providerKey: NodeKey;
  let engine: CountingEngine;
  /** The peer that dials the provider as an aggregator; in the honest case it is also the aggregator of the deposit. */
  let posing: PeerSession;
  let aggregatorChain: EscrowClient;
  let clientChain: EscrowClient;
  const clientKey = generateNodeKey();
  const payout = privateKeyToAccount(generatePrivateKey()).address;

  before(async () => {
    chain = await startLocalChain();
    home = await mkdtemp(join(tmpdir(), 'infernet-adversary-unpaid-'));
    providerKey = generateNodeKey();
    await saveNodeKey(nodeHome(home).keyFile, providerKey);
    const input: NodeConfigInput = {
      role: 'provider',
      models: [model],
      storage: { backend: 'file' },
      provider: { slots: 2, sandbox: 'none', price: PRICE },
      payments: { payoutAddress: payout, evm: { network: 'local', rpcUrl: chain.rpcUrl, escrow: chain.escrow, token: chain.token } },
    };
    await writeFile(nodeHome(home).configFile, stringify(input));
    engine = new CountingEngine(new LlamaCppEngine({ threads: 1, contextSize: 256, slots: 2 }));
    provider = await NodeDaemon.start({ home: nodeHome(home), config: validateNodeConfig({ listen: { port: 0 }, ...input }, 'test'), key: providerKey, logger, writeState: false, engine });
    posing = await dialPeer(provider.url!, { identity: { key: generateNodeKey(), role: 'aggregator', agent: 'posing-aggregator' }, limits: validateNodeConfig({}, 't').limits, logger });
    const open = async (tokens: bigint) => new EscrowClient({ chain: chain.chain, rpcUrl: chain.rpcUrl, escrow: chain.escrow, token: chain.token, account: (await chain.newAccount(tokens)).account, pollingIntervalMs: 50 });
    [aggregatorChain, clientChain] = [await open(0n), await open(100_000_000n)];
  });

  after(async () => {
    posing?.close();
    await provider?.stop();
    await chain?.stop();
    if (home) await rm(home, { recursive: true, force: true });
  });

  function specOf(jobId: string, modelRef: { name: string; cid?: string } = { name: 'stories260K' }): JobSpec {
    return JobSpec.parse({ jobId, model: modelRef, input: { prompt: 'Once upon a time' }, sampling: { maxTokens: MAX_TOKENS, temperature: 0 }, deadline: Date.now() + 60_000 });
  }

  /** The client's deposit for the job, as the escrow terms would have it unless `change` alters them. */
  async function deposit(spec: JobSpec, change: { paymentId?: string; provider?: `0x${string}`; amount?: bigint } = {}): Promise<void> {
    await clientChain.deposit({ jobId: change.paymentId ?? spec.jobId, provider: change.provider ?? payout, aggregator: aggregatorChain.address!, amount: change.amount ?? AMOUNT, fee: FEE, deadline: BigInt(Math.ceil(spec.deadline / 1000) + SETTLEMENT_WINDOW_S) });
  }

  /** Offers the spec straight to the provider and collects its frames for the job until it rejects, fails or returns a result. */
  function offer(spec: JobSpec): Promise<Frame[]> {
    const frames: Frame[] = [];
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => (stop(), reject(new Error(`no answer to job ${spec.jobId} in 30 s: ${frames.map((frame) => frame.type).join(', ')}`))), 30_000);
      const stop = posing.onFrame((frame) => {
        if (!('jobId' in frame) || frame.jobId !== spec.jobId) return;
        frames.push(frame);
        if (frame.type === 'job.reject' || frame.type === 'job.result' || frame.type === 'error') {
          clearTimeout(timer);
          stop();
          resolve(frames);
        }
      });
      posing.send({ type: 'job.offer', jobId: spec.jobId, spec: sealJobSpec(clientKey, providerKey.publicKey, spec) });
    });
  }

  function assertRefusedUnpaid(frames: Frame[], reason: RegExp): void {
    const last = frames.at(-1)!;
    assert.equal(last.type, 'job.reject', `expected a refusal, got ${frames.map((frame) => frame.type).join(', ')}`);
    assert.equal((last as Extract<Frame, { type: 'job.reject' }>).code, 'payment_missing');
    assert.match((last as Extract<Frame, { type: 'job.reject' }>).message, reason);
    assert.deepEqual(frames.map((frame) => frame.type), ['job.reject'], 'nothing accepted, fetched or streamed before the refusal');
  }

  it('an offer with no deposit is refused, and the provider generates nothing', async () => {
    const frames = await offer(specOf(randomUUID()));
    assertRefusedUnpaid(frames, /no deposit/);
    assert.equal(engine.generated, 0);
  });

  it('an unpaid offer naming a model by content id is refused before anything is fetched', async () => {
    const frames = await offer(specOf(randomUUID(), FOREIGN_MODEL));
    assert.ok(!frames.some((frame) => frame.type === 'job.progress'), `the provider started fetching: ${JSON.stringify(frames)}`);
    assertRefusedUnpaid(frames, /no deposit/);
    assert.equal(engine.generated, 0);
  });

  it('a deposit that pays another address is refused', async () => {
    const spec = specOf(randomUUID());
    await deposit(spec, { provider: privateKeyToAccount(generatePrivateKey()).address });
    assertRefusedUnpaid(await offer(spec), /not this provider's payout address/);
    assert.equal(engine.generated, 0);
  });

  it('a deposit below the price of the job is refused', async () => {
    const spec = specOf(randomUUID());
    await deposit(spec, { amount: AMOUNT - 1n });
    assertRefusedUnpaid(await offer(spec), /price is 12000/);
    assert.equal(engine.generated, 0);
  });

  it('a job with a real deposit to the payout runs, and its release pays the provider', async () => {
    const spec = specOf(randomUUID());
    await deposit(spec);
    const frames = await offer(spec);
    assert.deepEqual([frames[0]?.type, frames.at(-1)?.type], ['job.accept', 'job.result'], frames.map((frame) => frame.type).join(', '));
    assert.equal(engine.generated, 1);
    const before = await aggregatorChain.tokenBalance(payout);
    await aggregatorChain.release(spec.jobId);
    assert.equal((await aggregatorChain.tokenBalance(payout)) - before, AMOUNT);
  });

  it("a failover attempt's deposit (keyed <jobId>~2) pays for the job too", async () => {
    const spec = specOf(randomUUID());
    await deposit(spec, { paymentId: `${spec.jobId}~2` });
    const frames = await offer(spec);
    assert.equal(frames.at(-1)?.type, 'job.result', frames.map((frame) => frame.type).join(', '));
  });
});
