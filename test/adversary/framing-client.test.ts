// Attack 3 of the threat model: a client frames an honest provider. It runs a job on the honest provider, then its
// "checks" on two sybil providers of its own that return the same made-up output, and tells the aggregator that the
// two sybils agree and the honest run is wrong: on the old code the aggregator only compared output hashes, failed
// the honest run (its client refunded, the provider rated down) and paid the sybils. Now a check is a job that names
// the job it checks (job.request.checkOf) and whose provider the aggregator draws itself, a verdict must name every
// check drawn for the job, and a run is failed only when two checks agree against it by the aggregator's own
// comparison of the signed fingerprints. Real daemons (an aggregator, an honest provider, two lying providers) over
// the real transport, the honest engine real llama.cpp.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { nodeHome, validateNodeConfig, type NodeConfigInput } from '../../src/config/index.js';
import { generateNodeKey, type NodeKey } from '../../src/identity/index.js';
import { LlamaCppEngine, type InferenceEngine } from '../../src/inference/index.js';
import { silentLogger } from '../../src/log/index.js';
import { sharedModelPath } from '../../src/models/shared-test-models.js';
import { NodeDaemon } from '../../src/node/index.js';
import { JobFailedError, runJob, type JobOutcome } from '../../src/client/index.js';
import { JobSpec, type Frame, type FrameOf } from '../../src/protocol/index.js';
import { dialPeer, type PeerSession } from '../../src/transport/index.js';
import type { VerificationOutcome } from '../../src/verification/index.js';
import { LyingEngine } from '../../src/verification/testing/lying-engine.js';

const logger = silentLogger();
const POLICY = { kind: 'redundant', k: 2 } as const;

interface Started {
  daemon: NodeDaemon;
  key: NodeKey;
}

async function startNode(input: NodeConfigInput, engine?: InferenceEngine): Promise<Started> {
  const dir = await mkdtemp(join(tmpdir(), 'infernet-framing-'));
  const key = generateNodeKey();
  const config = validateNodeConfig({ listen: { port: 0 }, storage: { backend: 'file' }, ...input }, 'test');
  const daemon = await NodeDaemon.start({ home: nodeHome(dir), config, key, logger, writeState: false, ...(engine ? { engine } : {}) });
  return { daemon, key };
}

const provider = (engine: InferenceEngine) => startNode({ role: 'provider', models: [sharedModelPath('stories260K.gguf')], provider: { slots: 2, sandbox: 'none' } }, engine);
const llama = (): InferenceEngine => new LlamaCppEngine({ threads: 1, contextSize: 256, slots: 2 });

async function eventually(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !(await check()); ) {
    assert.ok(Date.now() < deadline, `${what} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('attack 3: a client with two sybil providers frames an honest provider', () => {
  let honest: Started;
  let sybils: Started[];
  let aggregator: Started;
  let session: PeerSession;
  const clientKey = generateNodeKey();
  const outcomes: VerificationOutcome[] = [];
  const errors: Array<FrameOf<'error'>> = [];

  before(async () => {
    honest = await provider(llama());
    // The sybils return the same made-up text: they agree with each other and with nobody honest.
    sybils = await Promise.all([provider(new LyingEngine(llama(), () => true)), provider(new LyingEngine(llama(), () => true))]);
    aggregator = await startNode({ role: 'aggregator', connect: [honest, ...sybils].map((node) => node.daemon.url!) });
    await eventually(() => aggregator.daemon.aggregator!.providerCount === 3, 'the aggregator to reach the three providers');
    aggregator.daemon.onVerification((outcome) => outcomes.push(outcome));
    session = await dialPeer(aggregator.daemon.url!, { identity: { key: clientKey, role: 'client', agent: 'framer' }, limits: validateNodeConfig({}, 't').limits, logger });
    session.onFrame((frame: Frame) => void (frame.type === 'error' && errors.push(frame)));
  });
  after(async () => {
    session?.close();
    for (const node of [aggregator, honest, ...(sybils ?? [])]) await node?.daemon.stop();
  });

  const specOf = (): JobSpec => JobSpec.parse({ jobId: randomUUID(), model: { name: 'stories260K' }, input: { prompt: 'Once upon a time' }, sampling: { maxTokens: 16, temperature: 0 }, deadline: Date.now() + 120_000, verification: POLICY });
  const stateAtAggregator = async (jobId: string) => (await aggregator.daemon.store.get(jobId, 'aggregator'))?.state;

  it('a verdict whose "checks" ran on providers the client named is refused, and the honest run is not failed', async () => {
    const spec = specOf();
    const runs: JobOutcome[] = [await runJob(session, clientKey, spec, { provider: honest.key.publicKey })];
    // The old way to check: the same spec under a new id, on providers of the client's choosing.
    for (const sybil of sybils) runs.push(await runJob(session, clientKey, { ...spec, jobId: randomUUID() }, { provider: sybil.key.publicKey }));
    assert.equal(runs[1]!.outputHash, runs[2]!.outputHash, 'the sybils agree with each other');
    assert.notEqual(runs[0]!.outputHash, runs[1]!.outputHash);
    const framing: Omit<FrameOf<'job.verdict'>, 'v'> = {
      type: 'job.verdict',
      jobId: spec.jobId,
      policy: POLICY,
      runs: runs.map((run, i) => ({ jobId: run.jobId, provider: run.provider, verdict: i === 0 ? 'failed' : 'verified', fingerprints: run.fingerprints! })),
    };
    session.send(framing);
    await eventually(() => errors.some((error) => error.jobId === spec.jobId), 'the verdict to be refused');
    assert.match(errors.find((error) => error.jobId === spec.jobId)!.message, /verdict refused: run .* is not a check this aggregator drew/);
    // Given time to act on it, the aggregator has failed nothing: the honest run still waits for a verdict (or its
    // window, which pays it), and no outcome blames it.
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(await stateAtAggregator(spec.jobId), 'verifying');
    assert.deepEqual(outcomes.filter((outcome) => outcome.verdict === 'failed').map((outcome) => outcome.provider), []);
  });

  it('a check that names its provider is refused: the aggregator draws it', async () => {
    const spec = specOf();
    await runJob(session, clientKey, spec, { provider: honest.key.publicKey });
    await assert.rejects(runJob(session, clientKey, { ...spec, jobId: randomUUID() }, { checkOf: spec.jobId, provider: sybils[0]!.key.publicKey }), (error: unknown) => error instanceof JobFailedError && error.code === 'invalid_frame' && /drawn by the aggregator/.test(error.message));
  });

  it("a check of another client's job, or a third check past redundant(2)'s budget, is refused", async () => {
    const spec = specOf();
    await runJob(session, clientKey, spec, { provider: honest.key.publicKey });
    const strangerKey = generateNodeKey();
    const stranger = await dialPeer(aggregator.daemon.url!, { identity: { key: strangerKey, role: 'client', agent: 'stranger' }, limits: validateNodeConfig({}, 't').limits, logger });
    try {
      await assert.rejects(runJob(stranger, strangerKey, { ...spec, jobId: randomUUID() }, { checkOf: spec.jobId }), (error: unknown) => error instanceof JobFailedError && error.code === 'job_not_found');
    } finally {
      stranger.close();
    }
    const checks = [await runJob(session, clientKey, { ...spec, jobId: randomUUID() }, { checkOf: spec.jobId }), await runJob(session, clientKey, { ...spec, jobId: randomUUID() }, { checkOf: spec.jobId })];
    assert.deepEqual(new Set(checks.map((check) => check.provider)), new Set(sybils.map((sybil) => sybil.key.publicKey)), 'each check drawn among the providers that had not run the job');
    await assert.rejects(runJob(session, clientKey, { ...spec, jobId: randomUUID() }, { checkOf: spec.jobId }), (error: unknown) => error instanceof JobFailedError && error.code === 'no_provider' && /had its 2 checks/.test(error.message));
  });
});
