// Attacks on the aggregator's matching, over real sockets between in-process nodes: a client that asks for matches
// and never offers must not hold the providers' slots, and a job id relayed before is refused at once.
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
import { JobSpec, type Frame } from '../protocol/index.js';
import { dialPeer, type PeerSession } from '../transport/index.js';
import { runJob } from '../client/job-client.js';
import { NodeDaemon } from '../node/node-daemon.js';

const model = sharedModelPath('stories260K.gguf');
const logger = silentLogger();
const OFFER_WAIT_SECONDS = 1;

async function startNode(input: NodeConfigInput): Promise<NodeDaemon> {
  const dir = await mkdtemp(join(tmpdir(), 'infernet-match-'));
  const config = validateNodeConfig({ listen: { port: 0 }, ...input }, 'test');
  return NodeDaemon.start({ home: nodeHome(dir), config, key: generateNodeKey(), logger, writeState: false });
}

const spec = (jobId = randomUUID()): JobSpec => JobSpec.parse({ jobId, model: { name: 'stories260K' }, input: { prompt: 'Once upon a time' }, sampling: { maxTokens: 8 }, deadline: Date.now() + 600_000 });

/** The frames a session receives about one job, in order. */
function framesAbout(session: PeerSession, jobId: string): Frame[] {
  const frames: Frame[] = [];
  session.onFrame((frame) => {
    if ('jobId' in frame && frame.jobId === jobId) frames.push(frame);
  });
  return frames;
}

async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !check(); ) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('aggregator matching against hostile clients (in-process nodes, real sockets)', () => {
  let provider: NodeDaemon;
  let aggregator: NodeDaemon;
  const dial = async (key: NodeKey) => dialPeer(aggregator.url!, { identity: { key, role: 'client', agent: 'test' }, limits: validateNodeConfig({}, 't').limits, logger });
  const sessions: PeerSession[] = [];

  before(async () => {
    provider = await startNode({ role: 'provider', models: [model], provider: { slots: 1, sandbox: 'none' } });
    aggregator = await startNode({ role: 'aggregator', connect: [provider.url!], aggregator: { offerWaitSeconds: OFFER_WAIT_SECONDS } });
    await until(() => (aggregator.aggregator?.providerCount ?? 0) > 0, 10_000, 'the aggregator to reach its provider');
  });
  after(async () => {
    for (const session of sessions) session.close();
    await aggregator.stop();
    await provider.stop();
  });

  it('gives up a match that is never offered and frees the provider slot for the next client', async () => {
    const hoarder = await dial(generateNodeKey());
    sessions.push(hoarder);
    const jobId = randomUUID();
    const frames = framesAbout(hoarder, jobId);
    hoarder.send({ type: 'job.request', jobId, model: { name: 'stories260K' }, maxTokens: 8, deadline: Date.now() + 600_000 });
    await until(() => frames.some((frame) => frame.type === 'job.match'), 10_000, 'the match');
    // The only slot is held by that match now; once the wait is over it is given up and said so.
    await until(() => frames.some((frame) => frame.type === 'error'), (OFFER_WAIT_SECONDS + 10) * 1000, 'the match to be given up');
    const given = frames.find((frame) => frame.type === 'error');
    assert.equal(given?.type === 'error' && given.code, 'deadline_exceeded');
    const key = generateNodeKey();
    const client = await dial(key);
    sessions.push(client);
    const outcome = await runJob(client, key, spec());
    assert.equal(outcome.status, 'completed');
  });

  it('drops a match its client cancels while it is being made: no slot is held for it, and the cancel is not refused', async () => {
    const quitter = await dial(generateNodeKey());
    sessions.push(quitter);
    const jobId = randomUUID();
    const frames = framesAbout(quitter, jobId);
    // The cancel arrives while the match awaits the store: before the job exists at the aggregator.
    quitter.send({ type: 'job.request', jobId, model: { name: 'stories260K' }, maxTokens: 8, deadline: Date.now() + 600_000 });
    quitter.send({ type: 'job.cancel', jobId, reason: 'changed my mind' });
    await until(() => frames.length > 0, 10_000, 'an answer to the cancel');
    assert.deepEqual(frames.map((frame) => [frame.type, frame.type === 'error' ? frame.code : undefined]), [['error', 'cancelled']]);
    // Within the offer wait a match would still hold the only slot: the next client is matched at once.
    const next = await dial(generateNodeKey());
    sessions.push(next);
    const nextId = randomUUID();
    const nextFrames = framesAbout(next, nextId);
    next.send({ type: 'job.request', jobId: nextId, model: { name: 'stories260K' }, maxTokens: 8, deadline: Date.now() + 600_000 });
    await until(() => nextFrames.length > 0, 10_000, 'the next match');
    assert.equal(nextFrames[0]!.type, 'job.match', JSON.stringify(nextFrames[0]));
    assert.ok(!frames.some((frame) => frame.type === 'job.match'), 'the cancelled request was never matched');
    // Given up again, so the slot is free for the tests after this one.
    next.send({ type: 'job.cancel', jobId: nextId });
    await until(() => nextFrames.some((frame) => frame.type === 'error'), 10_000, 'the second cancel');
  });

  it('refuses a job id it relayed before at once, before matching any provider', async () => {
    const key = generateNodeKey();
    const client = await dial(key);
    sessions.push(client);
    const first = spec();
    assert.equal((await runJob(client, key, first)).status, 'completed');
    const replayer = await dial(generateNodeKey());
    sessions.push(replayer);
    const frames = framesAbout(replayer, first.jobId);
    replayer.send({ type: 'job.request', jobId: first.jobId, model: first.model, maxTokens: 8, deadline: Date.now() + 600_000 });
    await until(() => frames.length > 0, 10_000, 'an answer to the replayed request');
    assert.equal(frames[0]?.type, 'job.reject');
    assert.equal(frames[0]?.type === 'job.reject' && frames[0].code, 'duplicate_job');
    assert.equal((await aggregator.store.get(first.jobId, 'aggregator'))?.state, 'completed', 'the first job is unharmed');
  });
});
