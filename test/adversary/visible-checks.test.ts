// Attack 4 of the threat model: checks are visible. A provider that knows which of its jobs will be checked runs
// those honestly and cuts corners on the rest (a smaller model, fewer tokens, made-up text). Two leaks told it: the
// spec sealed to it carried the client's verification policy, and it recorded per-token fingerprints only for jobs
// under a policy, so the engine request itself said "checked". The spec a provider opens now carries no policy and
// every generation is fingerprinted, so a checked job and an unchecked one look alike to the provider that runs it.
// Real daemons (aggregator, provider) over the real transport; the watching provider is a peer of the test's own.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { nodeHome, validateNodeConfig, type NodeConfigInput } from '../../src/config/index.js';
import { generateNodeKey } from '../../src/identity/index.js';
import { openJobSpec } from '../../src/jobs/index.js';
import { silentLogger } from '../../src/log/index.js';
import { sharedModelPath } from '../../src/models/shared-test-models.js';
import { NodeDaemon } from '../../src/node/index.js';
import { JobFailedError, runJob } from '../../src/client/index.js';
import { JobSpec, type VerificationPolicy } from '../../src/protocol/index.js';
import { dialPeer, type PeerSession } from '../../src/transport/index.js';

const logger = silentLogger();
const limits = validateNodeConfig({}, 'test').limits;
/** A model only the watching provider offers, so that the aggregator matches every job for it there. */
const WATCHED_MODEL = 'watched-model';

async function startNode(input: NodeConfigInput): Promise<NodeDaemon> {
  const dir = await mkdtemp(join(tmpdir(), 'infernet-visible-checks-'));
  const config = validateNodeConfig({ listen: { port: 0 }, storage: { backend: 'file' }, ...input }, 'test');
  return NodeDaemon.start({ home: nodeHome(dir), config, key: generateNodeKey(), logger, writeState: false });
}

const specOf = (model: string, verification: VerificationPolicy): JobSpec =>
  JobSpec.parse({ jobId: randomUUID(), model: { name: model }, input: { prompt: 'Once upon a time' }, sampling: { maxTokens: 6 }, deadline: Date.now() + 60_000, verification });

async function eventually(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !check(); ) {
    assert.ok(Date.now() < deadline, `${what} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('attack 4: a provider tells checked jobs from unchecked ones', () => {
  let aggregator: NodeDaemon;
  let provider: NodeDaemon;
  let client: PeerSession;
  const clientKey = generateNodeKey();
  /** The watching provider: opens every offer like a provider, keeps the spec, and rejects the job. */
  const watcherKey = generateNodeKey();
  let watcher: PeerSession;
  const opened: JobSpec[] = [];

  before(async () => {
    provider = await startNode({ role: 'provider', models: [sharedModelPath('stories260K.gguf')], provider: { slots: 2, sandbox: 'none' } });
    aggregator = await startNode({ role: 'aggregator', connect: [provider.url!] });
    watcher = await dialPeer(aggregator.url!, { identity: { key: watcherKey, role: 'provider', agent: 'watcher', capabilities: () => ({ models: [{ name: WATCHED_MODEL }], slots: 4 }) }, limits, logger });
    watcher.onFrame((frame) => {
      if (frame.type !== 'job.offer') return;
      opened.push(openJobSpec(watcherKey, frame.spec, frame.jobId));
      watcher.send({ type: 'job.reject', jobId: frame.jobId, code: 'busy', message: 'watched' });
    });
    await eventually(() => (aggregator.aggregator?.providerCount ?? 0) >= 2, 'the aggregator knows both providers');
    client = await dialPeer(aggregator.url!, { identity: { key: clientKey, role: 'client', agent: 'visible-checks-test' }, limits, logger });
  });

  after(async () => {
    client?.close();
    watcher?.close();
    await aggregator?.stop();
    await provider?.stop();
  });

  it('the spec a provider opens carries no verification policy: redundant, sampled and none are sealed alike', async () => {
    const policies: VerificationPolicy[] = [{ kind: 'redundant', k: 2 }, { kind: 'sampled', p: 0.5 }, { kind: 'none' }];
    for (const policy of policies) {
      await assert.rejects(runJob(client, clientKey, specOf(WATCHED_MODEL, policy)), JobFailedError);
    }
    assert.equal(opened.length, policies.length);
    assert.deepEqual(
      opened.map((spec) => spec.verification),
      policies.map(() => ({ kind: 'none' })),
      'the provider reads no policy from any spec',
    );
  });

  it('a real provider fingerprints an unchecked job as it does a checked one, so its engine request says nothing', async () => {
    const unchecked = await runJob(client, clientKey, specOf('stories260K', { kind: 'none' }));
    assert.equal(unchecked.status, 'completed');
    assert.equal(unchecked.fingerprints?.length, unchecked.tokenIds.length, 'one fingerprint per generated token, under policy none');
    assert.ok(unchecked.fingerprints!.every((fingerprint) => fingerprint.top.length > 0), 'each with its alternatives, as for a checked job');
  });
});
