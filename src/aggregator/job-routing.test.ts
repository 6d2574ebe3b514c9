// Job routing over real sockets between in-process nodes: cancellation, deadlines, refusals and forged envelopes.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { nodeHome, validateNodeConfig, type NodeConfigInput } from '../config/index.js';
import { generateNodeKey, type NodeKey } from '../identity/index.js';
import { silentLogger } from '../log/index.js';
import { sharedModelPath } from '../models/shared-test-models.js';
import { JobSpec, type FrameOf } from '../protocol/index.js';
import { dialPeer, type PeerSession } from '../transport/index.js';
import { sealJobSpec } from '../jobs/job-envelopes.js';
import { JobFailedError, runJob } from '../client/job-client.js';
import { NodeDaemon } from '../node/node-daemon.js';

const model = sharedModelPath('stories260K.gguf');
const logger = silentLogger();

async function startNode(input: NodeConfigInput): Promise<NodeDaemon> {
  const dir = await mkdtemp(join(tmpdir(), 'infernet-node-'));
  const config = validateNodeConfig({ listen: { port: 0 }, ...input }, 'test');
  return NodeDaemon.start({ home: nodeHome(dir), config, key: generateNodeKey(), logger, writeState: false });
}

const spec = (overrides: Partial<JobSpec> = {}): JobSpec =>
  JobSpec.parse({ jobId: randomUUID(), model: { name: 'stories260K' }, input: { prompt: 'Once upon a time' }, sampling: { maxTokens: 32 }, deadline: Date.now() + 60_000, ...overrides });

describe('job routing between in-process nodes over real sockets', () => {
  let provider: NodeDaemon;
  let aggregator: NodeDaemon;
  let clientKey: NodeKey;
  let session: PeerSession;

  before(async () => {
    provider = await startNode({ role: 'provider', models: [model], provider: { slots: 1, sandbox: 'none' } });
    aggregator = await startNode({ role: 'aggregator', connect: [provider.url!] });
    while ((aggregator.aggregator?.providerCount ?? 0) === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    clientKey = generateNodeKey();
    session = await dialPeer(aggregator.url!, { identity: { key: clientKey, role: 'client', agent: 'test' }, limits: validateNodeConfig({}, 't').limits, logger });
  });
  after(async () => {
    session.close();
    await aggregator.stop();
    await provider.stop();
  });

  it('runs a job and verifies the provider-signed result', async () => {
    const outcome = await runJob(session, clientKey, spec());
    assert.equal(outcome.status, 'completed');
    assert.equal(outcome.tokens, 32);
    assert.match(outcome.output, /Lily/);
  });

  it('cancels a running job at the provider and frees its slot', async () => {
    const abort = new AbortController();
    const job = spec({ sampling: JobSpec.shape.sampling.parse({ maxTokens: 2000 }) });
    const failure = await runJob(session, clientKey, job, { signal: abort.signal, onText: () => abort.abort() }).catch((error: unknown) => error);
    assert.ok(failure instanceof JobFailedError && failure.code === 'cancelled');
    await waitFor(async () => (await provider.store.get(job.jobId, 'provider'))?.state === 'cancelled');
    const after = await runJob(session, clientKey, spec());
    assert.equal(after.status, 'completed', 'the slot is free again');
  });

  it('fails a job that passes its deadline, with deadline_exceeded', async () => {
    const job = spec({ deadline: Date.now() + 150, sampling: JobSpec.shape.sampling.parse({ maxTokens: 2000, stop: ['never appears in a story'] }), input: { prompt: 'Once' } });
    const slowSession = session;
    const failure = await runJob(slowSession, clientKey, job, { onText: () => busyWait(5) }).catch((error: unknown) => error);
    assert.ok(failure instanceof JobFailedError, String(failure));
    assert.equal(failure.code, 'deadline_exceeded');
    await waitFor(async () => (await aggregator.store.get(job.jobId, 'aggregator'))?.state === 'failed');
    assert.equal((await aggregator.store.get(job.jobId, 'aggregator'))?.error?.code, 'deadline_exceeded');
  });

  it('refuses a job whose deadline has already passed', async () => {
    const failure = await runJob(session, clientKey, spec({ deadline: Date.now() - 1 })).catch((error: unknown) => error);
    assert.ok(failure instanceof JobFailedError && failure.code === 'deadline_exceeded');
  });

  it('refuses an offer signed by a key other than the session key, and keeps serving', async () => {
    const job = spec();
    const frames: FrameOf<'job.reject'>[] = [];
    const stop = session.onFrame((frame) => frame.type === 'job.reject' && frames.push(frame));
    session.send({ type: 'job.request', jobId: job.jobId, model: job.model, maxTokens: 32, deadline: job.deadline });
    const match = await nextFrame(session, 'job.match', job.jobId);
    session.send({ type: 'job.offer', jobId: job.jobId, spec: sealJobSpec(generateNodeKey(), match.provider, job) });
    await waitFor(() => frames.length > 0);
    stop();
    assert.equal(frames[0]?.code, 'bad_signature');
    assert.equal((await runJob(session, clientKey, spec())).status, 'completed');
  });

  it('answers with no_provider when every provider slot is taken', async () => {
    const first = runJob(session, clientKey, spec({ sampling: JobSpec.shape.sampling.parse({ maxTokens: 400 }) }), { onText: () => busyWait(1) });
    const second = await runJob(session, clientKey, spec()).catch((error: unknown) => error);
    assert.ok(second instanceof JobFailedError && second.code === 'no_provider');
    assert.equal((await first).status, 'completed');
  });

  it('cancels the job at the provider when the client disconnects', async () => {
    const other = await dialPeer(aggregator.url!, { identity: { key: clientKey, role: 'client', agent: 'test' }, limits: validateNodeConfig({}, 't').limits, logger });
    const job = spec({ sampling: JobSpec.shape.sampling.parse({ maxTokens: 2000 }) });
    const running = runJob(other, clientKey, job, { onText: () => other.close() }).catch((error: unknown) => error);
    assert.ok((await running) instanceof JobFailedError);
    await waitFor(async () => (await provider.store.get(job.jobId, 'provider'))?.state === 'cancelled');
  });
});

function busyWait(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function nextFrame<T extends 'job.match'>(session: PeerSession, type: T, jobId: string): Promise<FrameOf<T>> {
  return new Promise((resolve) => {
    const stop = session.onFrame((frame) => {
      if (frame.type === type && 'jobId' in frame && frame.jobId === jobId) {
        stop();
        resolve(frame as FrameOf<T>);
      }
    });
  });
}
