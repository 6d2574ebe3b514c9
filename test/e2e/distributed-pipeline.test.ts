// Pipeline and tensor parallel splits over RPC stages on separate provider processes, reached only through
// Infernet's tunnels, against the same model run whole by one llama-server.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DistributedEngine, LlamaServerEngine, TunnelRefusedError, StageConnection, type DistributedAttempt, type HeadGenerationResult } from '../../src/distributed/index.js';
import { generateNodeKey, npubOf, saveNodeKey } from '../../src/identity/index.js';
import { eventually, runCli } from '../support/cli.js';
import { silentLogger } from '../../src/log/index.js';
import { sharedModelPath } from '../../src/models/shared-test-models.js';
import { listeningAddressesOf, rpcWorkerPidsOf, startStageNodes, type StageCluster } from './distributed-fixture.js';

const MODELS = ['stories260K.gguf', 'llama-2-tiny-random.gguf'];
const PROMPT = 'Once upon a time, there was a little';
const MAX_TOKENS = 48;
/** ln p per token, split vs whole: the same bound the verification issue uses for fingerprints. */
const LOGPROB_TOLERANCE = 1e-3;

const greedy = (modelPath: string) => ({ modelPath, input: { prompt: PROMPT }, sampling: { temperature: 0, maxTokens: MAX_TOKENS }, fingerprintTopK: 3 });

describe('distributed inference over tunnels to RPC stages on two provider processes', () => {
  let cluster: StageCluster;
  const local = new LlamaServerEngine({ threads: 1, contextSize: 512 });
  const reference = new Map<string, HeadGenerationResult>();

  before(async () => {
    cluster = await startStageNodes(2);
    for (const model of MODELS) reference.set(model, await local.generate(greedy(sharedModelPath(model))));
  });
  after(async () => {
    await local.close();
    await cluster?.stop();
  });

  // keepWarmMs 0: every job opens and closes its own stages, as these tests check per job.
  const engine = (split: 'layer' | 'tensor', plans: DistributedAttempt[]) =>
    new DistributedEngine({ key: cluster.headKey, workers: cluster.nodes.map((n) => n.endpoint), split, threads: 1, contextSize: 512, keepWarmMs: 0, logger: silentLogger(), onPlan: (plan) => plans.push(plan) });

  for (const model of MODELS) {
    it(`a layer split (pipeline) over 2 stages gives the greedy text of one process: ${model}`, async () => {
      const plans: DistributedAttempt[] = [];
      const pieces: string[] = [];
      const result = await engine('layer', plans).generate({ ...greedy(sharedModelPath(model)), jobId: `pipe-${model}`, onText: (piece) => pieces.push(piece.text) });
      const whole = reference.get(model)!;
      assert.ok(whole.tokenIds.length > 8, 'the reference generated too little to compare');
      assert.equal(result.text, whole.text);
      assert.deepEqual(result.tokenIds, whole.tokenIds);
      assert.equal(pieces.join(''), result.text, 'the streamed pieces add up to the text');
      assert.deepEqual(result.fingerprints, whole.fingerprints, 'per-token logprobs and their top 3 alternatives are identical');
      assert.equal(result.fingerprints?.[0]?.top.length, 3);
      assert.equal(plans.length, 1);
      assert.equal(plans[0]!.split.splitMode, 'layer');
      assert.equal(plans[0]!.stages.length, 2);
    });

    it(`a tensor split over 2 stages gives per-token logprobs within ${LOGPROB_TOLERANCE} of one process: ${model}`, async () => {
      const plans: DistributedAttempt[] = [];
      const result = await engine('tensor', plans).generate({ ...greedy(sharedModelPath(model)), jobId: `tensor-${model}` });
      const whole = reference.get(model)!;
      assert.equal(plans[0]!.split.splitMode, 'tensor');
      assert.deepEqual(result.tokenIds, whole.tokenIds, 'the same tokens on the shared test models');
      assert.equal(result.logprobs.length, whole.logprobs.length);
      const worst = Math.max(...result.logprobs.map((lp, i) => Math.abs(lp - whole.logprobs[i]!)));
      assert.ok(worst <= LOGPROB_TOLERANCE, `largest logprob difference ${worst}`);
    });
  }

  it('binds every worker to 127.0.0.1 only, and ends it with the job', async () => {
    const plans: DistributedAttempt[] = [];
    const seen: { pid: number; addresses: string[] }[] = [];
    let checked = false;
    await engine('layer', plans).generate({
      ...greedy(sharedModelPath('stories260K.gguf')),
      jobId: 'bind-check',
      onText: () => {
        if (checked) return;
        checked = true;
        for (const node of cluster.nodes) {
          for (const pid of rpcWorkerPidsOf(node.daemon.process.pid!)) {
            const port = Number(/-p\0(\d+)/.exec(readCmdline(pid))?.[1]);
            seen.push({ pid, addresses: listeningAddressesOf(port) });
          }
        }
      },
    });
    assert.equal(seen.length, 2, 'one worker per stage while the job ran');
    for (const { addresses } of seen) assert.deepEqual(addresses, ['127.0.0.1']);
    await eventually(() => cluster.nodes.every((node) => rpcWorkerPidsOf(node.daemon.process.pid!).length === 0), 10_000, 'the workers to end with their job');
  });

  it('a provider configured to serve a model split across the stage providers runs `infernet submit` jobs on it', async () => {
    const home = await mkdtemp(join(tmpdir(), 'infernet-head-'));
    try {
      const init = await runCli(['init', '--home', home, '--role', 'all', '--port', '0', '--sandbox', 'none']);
      assert.equal(init.code, 0, init.stderr);
      await rm(join(home, 'node.key'));
      await saveNodeKey(join(home, 'node.key'), cluster.headKey);
      const model = sharedModelPath('stories260K.gguf');
      const config = {
        role: 'all',
        listen: { host: '127.0.0.1', port: 0 },
        storage: { backend: 'file' },
        provider: { sandbox: 'none', contextSize: 512 },
        distributed: { models: [{ path: model, split: 'layer', workers: cluster.nodes.map((n) => ({ url: n.endpoint.url, npub: npubOf(n.endpoint.pubkey) })) }] },
      };
      await writeFile(join(home, 'config.json'), JSON.stringify(config));
      await rm(join(home, 'config.yaml'), { force: true });
      const submit = await runCli(['submit', '--home', home, '--model', 'stories260K', '--prompt', PROMPT, '--max-tokens', String(MAX_TOKENS), '--json'], { timeoutMs: 120_000 });
      assert.equal(submit.code, 0, submit.stderr);
      const job = JSON.parse(submit.stdout) as { output: string; status: string };
      assert.equal(job.status, 'completed');
      assert.equal(job.output, reference.get('stories260K.gguf')!.text);
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });

  it('refuses a head the providers do not trust, through the same tunnel port', async () => {
    const stranger = generateNodeKey();
    await assert.rejects(StageConnection.open({ endpoint: cluster.nodes[0]!.endpoint, key: stranger, jobId: 'stranger' }), (error: unknown) => error instanceof TunnelRefusedError && error.refusal === 'not_allowed');
  });
});


function readCmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'latin1');
  } catch {
    return '';
  }
}

describe('stages sandboxed in Docker without network', () => {
  let cluster: StageCluster;
  const local = new LlamaServerEngine({ threads: 1, contextSize: 512 });
  before(async () => {
    cluster = await startStageNodes(2, { sandbox: 'docker' });
  });
  after(async () => {
    await local.close();
    await cluster?.stop();
  });

  it('a layer split over 2 containerised workers, reached only through the tunnels, gives the text of one process', async () => {
    const model = sharedModelPath('stories260K.gguf');
    const whole = await local.generate(greedy(model));
    let hostListeners: string[] | undefined;
    const engine = new DistributedEngine({ key: cluster.headKey, workers: cluster.nodes.map((n) => n.endpoint), split: 'layer', threads: 1, contextSize: 512, keepWarmMs: 0, logger: silentLogger() });
    const result = await engine.generate({ ...greedy(model), jobId: 'docker-pipe', onText: () => (hostListeners ??= listeningAddressesOf(50052)) });
    assert.equal(result.text, whole.text);
    assert.deepEqual(result.tokenIds, whole.tokenIds);
    assert.deepEqual(hostListeners, [], "the workers' RPC port exists only inside their containers");
  });
});
