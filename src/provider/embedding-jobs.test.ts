// Embed jobs over real sockets between in-process nodes: vectors signed and checked by their hash, redundant runs on
// two providers compared by it and verified, and the aggregator's witness told the same hash.
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
import { decodeEmbeddingVector, embeddingVectorsHash, JobSpec } from '../protocol/index.js';
import { dialPeer, type PeerSession } from '../transport/index.js';
import { runVerifiedJob } from '../client/run-verified-job.js';
import { runJob } from '../client/job-client.js';
import { NodeDaemon } from '../node/node-daemon.js';

const model = sharedModelPath('stories260K.gguf');
const logger = silentLogger();

async function startNode(input: NodeConfigInput): Promise<NodeDaemon> {
  const dir = await mkdtemp(join(tmpdir(), 'infernet-embed-'));
  const config = validateNodeConfig({ listen: { port: 0 }, ...input }, 'test');
  return NodeDaemon.start({ home: nodeHome(dir), config, key: generateNodeKey(), logger, writeState: false });
}

const embedSpec = (texts: string[], overrides: Partial<JobSpec> = {}): JobSpec =>
  JobSpec.parse({ jobId: randomUUID(), model: { name: 'stories260K' }, input: { embed: texts }, sampling: { maxTokens: 1 }, deadline: Date.now() + 60_000, ...overrides });

describe('embed jobs between in-process nodes over real sockets', () => {
  const providers: NodeDaemon[] = [];
  let aggregator: NodeDaemon;
  let clientKey: NodeKey;
  let session: PeerSession;

  before(async () => {
    for (let i = 0; i < 2; i++) providers.push(await startNode({ role: 'provider', models: [model], provider: { slots: 1, sandbox: 'none' } }));
    aggregator = await startNode({ role: 'aggregator', connect: providers.map((provider) => provider.url!) });
    while ((aggregator.aggregator?.providerCount ?? 0) < 2) await new Promise((resolve) => setTimeout(resolve, 20));
    clientKey = generateNodeKey();
    session = await dialPeer(aggregator.url!, { identity: { key: clientKey, role: 'client', agent: 'test' }, limits: validateNodeConfig({}, 't').limits, logger });
  });
  after(async () => {
    session.close();
    await aggregator.stop();
    for (const provider of providers) await provider.stop();
  });

  it('returns one vector per text, of the model’s dimension, whose hash is the signed output hash', async () => {
    const outcome = await runJob(session, clientKey, embedSpec(['Once upon a time', 'The cat sat']));
    assert.equal(outcome.status, 'completed');
    assert.equal(outcome.output, '');
    assert.equal(outcome.embeddings?.dimensions, 64);
    assert.equal(outcome.embeddings?.vectors.length, 2);
    assert.equal(decodeEmbeddingVector(outcome.embeddings!.vectors[1]!).length, 64);
    assert.equal(outcome.outputHash, embeddingVectorsHash(outcome.embeddings!.vectors));
    assert.ok(outcome.promptTokens >= 6);
  });

  it('verifies a redundant embed job on two providers by the hash of their vectors', async () => {
    const outcome = await runVerifiedJob(session, clientKey, embedSpec(['Once upon a time'], { verification: { kind: 'redundant', k: 2 } }));
    const runs = outcome.verification.runs;
    assert.equal(runs.length, 2);
    assert.notEqual(runs[0]!.provider, runs[1]!.provider, 'the check ran on the other provider');
    assert.deepEqual(runs.map((run) => run.verdict), ['verified', 'verified']);
    assert.equal(runs[0]!.outputHash, runs[1]!.outputHash);
    assert.equal(runs[0]!.outputHash, outcome.embeddings!.sha256);
  });
});
