// A stage's worker killed mid-generation: the job fails over to the stages still standing and the client's
// stream goes on with exactly the tokens an uninterrupted run gives; with no stage left, a clear error.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DistributedEngine, NoStageAvailableError, type DistributedAttempt } from '../../src/distributed/index.js';
import { silentLogger } from '../../src/log/index.js';
import { sharedModelPath } from '../../src/models/shared-test-models.js';
import { FINGERPRINT_LOGPROB_TOLERANCE } from '../../src/verification/index.js';
import { rpcWorkerPidsOf, startStageNodes, type StageCluster } from './distributed-fixture.js';

const request = { modelPath: '', input: { prompt: 'Once upon a time' }, sampling: { temperature: 0, maxTokens: 96 } };
const KILL_AFTER_TOKENS = 12;

describe('failover when a stage dies mid-generation', () => {
  let cluster: StageCluster;
  before(async () => {
    request.modelPath = sharedModelPath('stories260K.gguf');
    cluster = await startStageNodes(4);
  });
  after(async () => {
    await cluster?.stop();
  });

  // keepWarmMs 0: every job opens and closes its own stages, as these tests check per job.
  const engine = (workers: number, plans: DistributedAttempt[], stagesPerJob?: number, split: 'layer' | 'tensor' = 'layer') =>
    new DistributedEngine({ key: cluster.headKey, workers: cluster.nodes.slice(0, workers).map((n) => n.endpoint), split, threads: 1, contextSize: 512, keepWarmMs: 0, logger: silentLogger(), onPlan: (plan) => plans.push(plan), ...(stagesPerJob ? { stagesPerJob } : {}) });

  it('a 3-stage pipeline over three provider processes gives the tokens of a 2-stage one', async () => {
    const plans: DistributedAttempt[] = [];
    const three = await engine(3, plans).generate({ ...request, jobId: 'three-stages' });
    const two = await engine(2, []).generate({ ...request, jobId: 'two-stages' });
    assert.equal(plans[0]!.stages.length, 3);
    assert.deepEqual(plans[0]!.split.layerRanges.map(([start, end]) => end - start), [2, 2, 1]);
    assert.deepEqual(three.tokenIds, two.tokenIds);
    assert.ok(three.tokenIds.length > 16);
  });

  it("a 4-way tensor split over four provider processes gives the tokens of a pipeline, logprobs within verification's tolerance", async () => {
    const plans: DistributedAttempt[] = [];
    const tensor = await engine(4, plans, 4, 'tensor').generate({ ...request, jobId: 'tensor-4', fingerprintTopK: 1 });
    const layer = await engine(2, [], 2).generate({ ...request, jobId: 'layer-2', fingerprintTopK: 1 });
    assert.equal(plans[0]!.split.splitMode, 'tensor');
    assert.deepEqual(plans[0]!.split.tensorSplit, [0.25, 0.25, 0.25, 0.25]);
    assert.deepEqual(tensor.tokenIds, layer.tokenIds);
    // The tolerance verification (src/verification) allows between two runs' per-token logprobs; measured here: about 1e-3.
    const worst = Math.max(...tensor.fingerprints!.map((f, i) => Math.abs(f.logprob - layer.fingerprints![i]!.logprob)));
    assert.ok(worst <= FINGERPRINT_LOGPROB_TOLERANCE, `largest logprob difference ${worst}`);
  });

  it('replaces the stage whose worker was killed and streams the same tokens as an uninterrupted run', async () => {
    const uninterrupted = await engine(2, [], 2).generate({ ...request, jobId: 'whole' });
    assert.ok(uninterrupted.tokenIds.length > KILL_AFTER_TOKENS + 8, 'the run is too short to interrupt');

    const plans: DistributedAttempt[] = [];
    const streamed: number[] = [];
    let killed: number | undefined;
    const result = await engine(3, plans, 2).generate({
      ...request,
      jobId: 'failover',
      onText: (piece) => {
        streamed.push(...piece.tokenIds);
        if (killed === undefined && streamed.length >= KILL_AFTER_TOKENS) {
          killed = rpcWorkerPidsOf(cluster.nodes[1]!.daemon.process.pid!)[0];
          assert.ok(killed, 'the second stage has a worker process');
          process.kill(killed, 'SIGKILL');
        }
      },
    });
    assert.ok(killed, 'a worker was killed mid-generation');
    assert.deepEqual(result.tokenIds, uninterrupted.tokenIds, 'the failed-over output equals the uninterrupted one');
    assert.equal(result.text, uninterrupted.text);
    assert.deepEqual(streamed, uninterrupted.tokenIds, 'the client saw one stream, no token twice');
    assert.equal(plans.length, 2, 'one failover');
    assert.deepEqual(plans[1]!.stages.map((s) => s.url), [cluster.nodes[0]!.endpoint.url, cluster.nodes[2]!.endpoint.url], 'the spare took the dead stage\'s place');
    assert.ok(plans[1]!.resumedAfterTokens >= KILL_AFTER_TOKENS, 'the new head resumed after the streamed tokens');
  });

  it('fails with a clear error when no stage can take over', async () => {
    let killed = false;
    await assert.rejects(
      engine(1, []).generate({
        ...request,
        jobId: 'no-spare',
        onText: () => {
          if (killed) return;
          killed = true;
          for (const pid of rpcWorkerPidsOf(cluster.nodes[0]!.daemon.process.pid!)) process.kill(pid, 'SIGKILL');
        },
      }),
      (error: unknown) => error instanceof NoStageAvailableError && /no worker can take job no-spare/.test(error.message) && /worker restarted|exited/.test(error.message),
    );
  });
});
