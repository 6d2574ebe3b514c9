// llama.cpp's RPC tensor cache pre-filled from a model the stage's provider already holds: the entries we compute
// from a GGUF are exactly those ggml-rpc-server writes after a real upload, and a stage whose provider holds the
// model (by content id, in its content store) loads the head's weights from its own disk: bytes through the
// tunnel stay far below the model size, and the greedy tokens equal a local run's.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ContentStore } from '../../src/content/index.js';
import { DistributedEngine, LlamaServerEngine, LlamaServerHead, locateLlamaRpcBinaries, RPC_CACHE_SUBDIR, rpcCacheEntriesOf, type DistributedJobReport } from '../../src/distributed/index.js';
import { freeLoopbackPort, startEngineProcess, stopEngineProcess, tcpAccepts, waitUntilReady } from '../../src/distributed/engine-process.js';
import { silentLogger } from '../../src/log/index.js';
import { writeRandomLlamaGguf } from '../../src/models/index.js';
import { startStageNodes, type StageCluster } from './distributed-fixture.js';

/** Two layers whose feed-forward matrices are just over llama.cpp's 10 MiB hash threshold (512 x 5136 F32). */
const WIDE_LLAMA = { layers: 2, hiddenSize: 512, heads: 8, kvHeads: 2, feedForwardLength: 5136, vocabularySize: 512, contextLength: 512 };
const request = (modelPath: string) => ({ modelPath, input: { prompt: 'Once upon a time' }, sampling: { temperature: 0, maxTokens: 16 }, fingerprintTopK: 2 });

describe("the RPC tensor cache, pre-filled from a model the stage's provider holds", () => {
  let dir: string;
  let model: string;
  let modelBytes: number;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'infernet-tensor-cache-'));
    model = join(dir, 'wide.gguf');
    modelBytes = (await writeRandomLlamaGguf(model, WIDE_LLAMA, { seed: 11, tensorType: 'F32' })).bytes;
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('computes from the GGUF exactly the entries ggml-rpc-server writes after a real upload (names and sizes)', async () => {
    const { rpcServer, llamaServer } = locateLlamaRpcBinaries();
    const cacheDir = join(dir, 'uploaded-cache');
    const port = await freeLoopbackPort();
    const worker = startEngineProcess(rpcServer, ['-H', '127.0.0.1', '-p', String(port), '-t', '1', '-c'], { ...process.env, LLAMA_CACHE: cacheDir });
    try {
      await waitUntilReady(worker, () => tcpAccepts(port), 15_000, 'ggml-rpc-server');
      // Every layer and the output on the worker: all large tensors go through it.
      const head = await LlamaServerHead.start({ llamaServer, modelPath: model, threads: 1, contextSize: 256, rpc: [`127.0.0.1:${port}`] });
      await head.stop();
    } finally {
      await stopEngineProcess(worker);
    }
    const folder = join(cacheDir, RPC_CACHE_SUBDIR);
    const written = await Promise.all((await readdir(folder)).map(async (file) => ({ file, bytes: (await stat(join(folder, file))).size })));
    const computed = await rpcCacheEntriesOf(model);
    assert.equal(computed.length, 6, 'three feed-forward matrices per layer are over the threshold');
    const byName = (a: { file: string }, b: { file: string }) => a.file.localeCompare(b.file);
    assert.deepEqual(written.sort(byName), computed.map(({ file, bytes }) => ({ file, bytes })).sort(byName));
  });

  describe('through stages on two provider processes holding the model in their content store', () => {
    let cluster: StageCluster;
    let cid: string;
    before(async () => {
      cluster = await startStageNodes(2, { worker: { tensorCache: true } });
      for (const node of cluster.nodes) cid = (await new ContentStore(node.home).add(model, { inPlace: true })).cid;
    });
    after(async () => {
      await cluster?.stop();
    });

    it('loads the head with no weights through the tunnels and the greedy tokens of a local run', async () => {
      const local = new LlamaServerEngine({ threads: 1, contextSize: 512 });
      const whole = await local.generate(request(model));
      await local.close();
      for (const node of cluster.nodes) assert.equal(existsSync(join(node.home, 'rpc-cache', RPC_CACHE_SUBDIR)), false, 'no cache entry before the job');

      const reports: DistributedJobReport[] = [];
      const engine = new DistributedEngine({ key: cluster.headKey, workers: cluster.nodes.map((n) => n.endpoint), split: 'layer', threads: 1, contextSize: 512, keepWarmMs: 0, modelCidOf: async () => cid, logger: silentLogger(), onJob: (report) => reports.push(report) });
      const result = await engine.generate({ ...request(model), jobId: 'prefilled' });
      await engine.close();

      assert.deepEqual(reports[0]!.stages.map((s) => s.prefilled?.tensors), [6, 6], 'each provider wrote the entries of its copy');
      assert.ok(reports[0]!.tunnelBytes < modelBytes * 0.15, `${reports[0]!.tunnelBytes} bytes through the tunnels for a ${modelBytes}-byte model`);
      assert.ok(whole.tokenIds.length > 4);
      assert.deepEqual(result.tokenIds, whole.tokenIds);
      assert.deepEqual(result.fingerprints, whole.fingerprints);
    });
  });
});
