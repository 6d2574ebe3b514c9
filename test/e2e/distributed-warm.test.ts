// Warm heads: a DistributedEngine keeps its llama-server head and its stages loaded between jobs of one model.
// The next job starts no stage and no head and sends no weights; it carries no state from the job before; an
// idle head is closed with its workers; a stage that dies between jobs is replaced and the new set stays warm.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  dialTunnel,
  DistributedEngine,
  locateLlamaRpcBinaries,
  MIN_STAGE_TIME_MARGIN_MS,
  processWorkerLauncher,
  StageService,
  TunnelRefusedError,
  type DistributedAttempt,
  type DistributedJobReport,
  type HeadGenerationResult,
} from '../../src/distributed/index.js';
import { generateNodeKey } from '../../src/identity/index.js';
import { createLogger, silentLogger } from '../../src/log/index.js';
import { writeRandomLlamaGguf } from '../../src/models/index.js';
import { eventually } from '../support/cli.js';
import { rpcWorkerPidsOf, startStageNodes, type StageCluster } from './distributed-fixture.js';

const LONG_PROMPT = 'Once upon a time, there was a little girl named Lily. She loved to play outside in the park with her friends. One day';
const SHORT_PROMPT = 'The cat';
const MAX_TOKENS = 32;

describe('warm heads: stages and head kept loaded between jobs of one model', () => {
  let cluster: StageCluster;
  /** Another head the providers trust: it must still not reach a warm stage it did not open. */
  const otherHead = generateNodeKey();
  let dir: string;
  let model: string;
  let modelBytes: number;
  const fresh = new Map<string, HeadGenerationResult>();
  const job = (prompt: string, jobId: string) => ({ modelPath: model, input: { prompt }, sampling: { temperature: 0, maxTokens: MAX_TOKENS }, fingerprintTopK: 2, jobId });
  const engine = (keepWarmMs: number | undefined, plans: DistributedAttempt[] = [], reports: DistributedJobReport[] = []) =>
    new DistributedEngine({ key: cluster.headKey, workers: cluster.nodes.map((n) => n.endpoint), split: 'layer', threads: 1, contextSize: 512, logger: process.env.DEBUG_WARM ? createLogger({ level: 'debug' }) : silentLogger(), onPlan: (plan) => plans.push(plan), onJob: (report) => reports.push(report), ...(keepWarmMs !== undefined ? { keepWarmMs } : {}) });
  const workerPids = () => cluster.nodes.map((node) => rpcWorkerPidsOf(node.daemon.process.pid!));
  const noWorkers = () => eventually(() => workerPids().every((pids) => pids.length === 0), 10_000, 'the stage workers to end');

  before(async () => {
    // A random-weight llama of 17 MB whose weights, not the per-token graphs (about 10 kB a token), dominate what
    // a load sends: so bytes through the tunnels tell a load from a job on a loaded head.
    dir = await mkdtemp(join(tmpdir(), 'infernet-warm-'));
    model = join(dir, 'warm-17mb.gguf');
    modelBytes = (await writeRandomLlamaGguf(model, { layers: 4, hiddenSize: 256, heads: 4, kvHeads: 4, feedForwardLength: 1024, vocabularySize: 512, contextLength: 512 }, { seed: 5, tensorType: 'F32' })).bytes;
    cluster = await startStageNodes(2, { extraHeads: [otherHead.npub] });
    // Each prompt on a fresh head (keepWarmMs 0: today's per-job behaviour), for the warm runs to equal.
    const perJob = engine(0);
    fresh.set(LONG_PROMPT, await perJob.generate(job(LONG_PROMPT, 'fresh-long')));
    fresh.set(SHORT_PROMPT, await perJob.generate(job(SHORT_PROMPT, 'fresh-short')));
    await perJob.close();
    await noWorkers();
  });
  after(async () => {
    await cluster?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('runs the second job on the same head and stages, with no weights through the tunnels and no state from the first job', async () => {
    const plans: DistributedAttempt[] = [];
    const reports: DistributedJobReport[] = [];
    const warm = engine(undefined, plans, reports);
    try {
      const first = await warm.generate(job(LONG_PROMPT, 'warm-1'));
      const pidsAfterFirst = workerPids();
      const headAfterFirst = warm.warmHead();
      let pidsDuringSecond: number[][] | undefined;
      const second = await warm.generate({ ...job(SHORT_PROMPT, 'warm-2'), onText: () => (pidsDuringSecond ??= workerPids()) });

      assert.equal(plans.length, 1, 'one head started for both jobs');
      assert.deepEqual(pidsDuringSecond, pidsAfterFirst, 'the second job used the same worker processes');
      assert.ok(pidsAfterFirst.every((pids) => pids.length === 1), 'one worker per stage stayed up between the jobs');
      assert.equal(warm.warmHead()?.headPid, headAfterFirst?.headPid, 'the same llama-server head');
      assert.deepEqual(reports.map((r) => [r.warm, r.headsStarted]), [[false, 1], [true, 0]]);
      assert.ok(reports[0]!.tunnelBytesToFirstToken > modelBytes * 0.9, `the first job uploaded the weights before its first token (${reports[0]!.tunnelBytesToFirstToken} bytes)`);
      assert.ok(reports[1]!.tunnelBytes < modelBytes * 0.1, `the whole second job sent ${reports[1]!.tunnelBytes} bytes, far below the model's ${modelBytes}`);

      assert.ok(second.tokenIds.length > 4 && first.tokenIds.length > 4);
      assert.deepEqual(first.fingerprints, fresh.get(LONG_PROMPT)!.fingerprints, 'the first job equals a fresh head');
      assert.deepEqual(second.tokenIds, fresh.get(SHORT_PROMPT)!.tokenIds, "the short prompt after the long one gives a fresh head's tokens");
      assert.deepEqual(second.fingerprints, fresh.get(SHORT_PROMPT)!.fingerprints, 'and the same logprobs: nothing of the first job was left in the KV cache');

      // While warm, the stage still answers only the head that opened it.
      const [stage] = warm.warmHead()!.stages;
      const endpoint = cluster.nodes.find((node) => node.endpoint.url === stage!.url)!.endpoint;
      for (const [jobId, code] of [[stage!.stageId, 'not_allowed'], ['never-opened', 'unknown_job']] as const) {
        await assert.rejects(dialTunnel({ url: endpoint.url, key: otherHead, worker: endpoint.pubkey, request: { action: 'tunnel.connect', jobId } }), (error: unknown) => error instanceof TunnelRefusedError && error.refusal === code);
      }
    } finally {
      await warm.close();
    }
    await noWorkers();
  });

  it("opens new stages between jobs when a warm stage's time limit would end it during the next job", async () => {
    // Stages of in-process stage services that live only a little longer than the head's margin: after the first
    // job less than the margin is left, so the head renews them before the second job instead of losing them in it.
    const { rpcServer } = locateLlamaRpcBinaries();
    const keys = [generateNodeKey(), generateNodeKey()];
    const services = await Promise.all(keys.map((key) => StageService.listen({ key, host: '127.0.0.1', port: 0, heads: [cluster.headKey.publicKey], launcher: processWorkerLauncher(rpcServer), threads: 1, memoryBytes: 2 ** 30, limits: { maxStageMs: MIN_STAGE_TIME_MARGIN_MS + 500 }, logger: silentLogger() })));
    const plans: DistributedAttempt[] = [];
    const reports: DistributedJobReport[] = [];
    const warm = new DistributedEngine({ key: cluster.headKey, workers: services.map((service, i) => ({ url: service.url, pubkey: keys[i]!.publicKey })), split: 'layer', threads: 1, contextSize: 512, logger: silentLogger(), onPlan: (plan) => plans.push(plan), onJob: (report) => reports.push(report) });
    try {
      await warm.generate(job(SHORT_PROMPT, 'limit-1'));
      const second = await warm.generate(job(SHORT_PROMPT, 'limit-2'));
      assert.deepEqual(reports.map((r) => [r.warm, r.headsStarted]), [[false, 1], [false, 1]], 'the second job loaded a new set, with no failover');
      assert.equal(plans.length, 2);
      assert.deepEqual(second.fingerprints, fresh.get(SHORT_PROMPT)!.fingerprints);
    } finally {
      await warm.close();
      for (const service of services) await service.close();
    }
  });

  it('closes the head and its stages after the idle timeout: the workers are gone', async () => {
    const warm = engine(1_000);
    try {
      await warm.generate(job(SHORT_PROMPT, 'idle'));
      assert.ok(warm.warmHead(), 'warm right after the job');
      assert.ok(workerPids().every((pids) => pids.length === 1), 'the workers are up right after the job');
      await eventually(() => warm.warmHead() === undefined && workerPids().every((pids) => pids.length === 0), 10_000, 'the idle head and its workers to close');
    } finally {
      await warm.close();
    }
  });

  it('replaces a stage whose worker was killed between two warm jobs; the output is unchanged and the new set stays warm', async () => {
    const plans: DistributedAttempt[] = [];
    const reports: DistributedJobReport[] = [];
    const warm = engine(undefined, plans, reports);
    try {
      await warm.generate(job(SHORT_PROMPT, 'kill-1'));
      const [victim] = rpcWorkerPidsOf(cluster.nodes[1]!.daemon.process.pid!);
      assert.ok(victim, 'the second stage has a worker');
      process.kill(victim, 'SIGKILL');
      // The provider restarts its worker (empty) and tells the head, which must not use that stage again.
      await eventually(() => rpcWorkerPidsOf(cluster.nodes[1]!.daemon.process.pid!).some((pid) => pid !== victim), 10_000, 'the provider to restart the worker');
      const second = await warm.generate(job(SHORT_PROMPT, 'kill-2'));
      const third = await warm.generate(job(LONG_PROMPT, 'kill-3'));
      assert.equal(plans.length, 2, 'one new head for the replaced set, none for the job after it');
      assert.deepEqual(reports.map((r) => r.warm), [false, false, true]);
      assert.notEqual(reports[1]!.stages[1]!.stageId, reports[0]!.stages[1]!.stageId, 'a new stage replaced the one whose worker died');
      assert.deepEqual(second.fingerprints, fresh.get(SHORT_PROMPT)!.fingerprints);
      assert.deepEqual(third.fingerprints, fresh.get(LONG_PROMPT)!.fingerprints);
    } finally {
      await warm.close();
    }
    await noWorkers();
  });
});
