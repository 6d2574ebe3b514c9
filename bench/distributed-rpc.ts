// Tokens per second of one model split over llama.cpp RPC workers: run whole by one llama-server, then over 2 and
// 3 stages (layer split) and 2-way tensor split, each through Infernet's authenticated, encrypted tunnels and over
// llama.cpp's direct TCP, in one run on the same machine. The model is a ~100M-parameter random-weight llama in
// F16 written by the project's GGUF writer (Q8_0 kernels of the native CPU build die with SIGILL on this VM's CPU), so compute is not negligible. Prints the ratios tunnel/direct.
// Both ends of every tunnel run in this one process here (head side and worker side), so the tunnel's
// JavaScript cost is counted twice on one event loop: a pessimistic figure for two machines.
// Then: a second job on a warm head (stages and head kept loaded), and, on a model whose tensors are over
// llama.cpp's 10 MiB hash threshold, the load with the weights uploaded through the tunnels against the load from
// a tensor cache the providers pre-filled from their own copy of the model.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DistributedEngine,
  LlamaServerEngine,
  LlamaServerHead,
  locateLlamaRpcBinaries,
  processWorkerLauncher,
  StageService,
  type LlamaSplitMode,
} from '../src/distributed/index.js';
import { freeLoopbackPort, startEngineProcess, stopEngineProcess, tcpAccepts, waitUntilReady, type EngineProcess } from '../src/distributed/engine-process.js';
import { generateNodeKey, type NodeKey } from '../src/identity/index.js';
import { silentLogger } from '../src/log/index.js';
import { cidOfBytes, RAW_CODE } from '../src/content/index.js';
import { BENCHMARK_LLAMA_SHAPE, writeRandomLlamaGguf, type RandomLlamaShape } from '../src/models/index.js';
import type { DistributedJobReport, StageEndpoint, StageServiceOptions } from '../src/distributed/index.js';
import { reportFigure } from './summary/bench-figure.js';

const MAX_TOKENS = 128;
const PROMPT = 'Once upon a time';
const THREADS = 1;
const CONTEXT = 512;
/** Feed-forward matrices of 1024 x 5632 F16 (11 MiB): over llama.cpp's hash threshold, so its tensor cache applies. */
const WIDE_LLAMA_SHAPE: RandomLlamaShape = { name: 'infernet-bench-wide', layers: 4, hiddenSize: 1024, heads: 16, kvHeads: 4, feedForwardLength: 5632, vocabularySize: 2048, contextLength: 2048 };

interface Figure {
  name: string;
  tokens: number;
  /** Tokens after the first over the time from the first to the last. */
  decodeTokensPerSecond: number;
  /** Head start to ready: model load, with the weights uploaded to the stages. */
  loadMs: number;
}

async function main(): Promise<void> {
  const binaries = locateLlamaRpcBinaries();
  const dir = await mkdtemp(join(tmpdir(), 'infernet-bench-rpc-'));
  const modelPath = join(dir, 'bench-100m.gguf');
  const written = await writeRandomLlamaGguf(modelPath, BENCHMARK_LLAMA_SHAPE, { seed: 7, tensorType: 'F16' });
  console.log(`model: ${(written.parameterCount / 1e6).toFixed(0)}M parameters, ${(written.bytes / 2 ** 20).toFixed(0)} MiB F16; ${MAX_TOKENS} greedy tokens, -t ${THREADS}`);
  const figures: Figure[] = [];
  const request = { modelPath, input: { prompt: PROMPT }, sampling: { temperature: 0, maxTokens: MAX_TOKENS } };

  // Whole, in one llama-server.
  const local = new LlamaServerEngine({ threads: THREADS, contextSize: CONTEXT });
  const loadStarted = performance.now();
  await local.preload(modelPath);
  const localLoad = performance.now() - loadStarted;
  figures.push({ name: 'local (one llama-server)', ...(await timed((onText) => local.generate({ ...request, onText }))), loadMs: localLoad });
  await local.close();

  // Direct RPC: the head dials ggml-rpc-server workers on loopback itself.
  const workers: { process: EngineProcess; port: number }[] = [];
  for (let i = 0; i < 3; i++) {
    const port = await freeLoopbackPort();
    const process = startEngineProcess(binaries.rpcServer, ['-H', '127.0.0.1', '-p', String(port), '-t', String(THREADS)]);
    await waitUntilReady(process, () => tcpAccepts(port), 15_000, 'ggml-rpc-server');
    workers.push({ process, port });
  }
  const direct = async (stages: number, splitMode: LlamaSplitMode): Promise<Figure> => {
    const started = performance.now();
    const head = await LlamaServerHead.start({ llamaServer: binaries.llamaServer, modelPath, threads: THREADS, contextSize: CONTEXT, rpc: workers.slice(0, stages).map((w) => `127.0.0.1:${w.port}`), splitMode });
    const loadMs = performance.now() - started;
    try {
      const tokens = await head.tokenize(PROMPT);
      const figure = await timed(async (onText) => {
        let count = 0;
        await head.complete({ tokens, maxTokens: MAX_TOKENS, temperature: 0, onChunk: (chunk) => ((count += chunk.tokenIds.length), onText()) });
        return { tokenIds: new Array(count) };
      });
      return { name: `direct RPC, ${stages} ${splitMode === 'layer' ? 'stages (layer split)' : 'way tensor split'}`, ...figure, loadMs };
    } finally {
      await head.stop();
    }
  };

  // Through Infernet's tunnels: a stage service per worker, the head dialling them with its key.
  const headKey = generateNodeKey();
  const services: StageService[] = [];
  const workerKeys = [generateNodeKey(), generateNodeKey(), generateNodeKey()];
  for (const key of workerKeys) {
    services.push(await StageService.listen({ key, host: '127.0.0.1', port: 0, heads: [headKey.publicKey], launcher: processWorkerLauncher(binaries.rpcServer), threads: THREADS, memoryBytes: 2 ** 30, logger: silentLogger() }));
  }
  const endpoints = services.map((service, i) => ({ url: service.url, pubkey: workerKeys[i]!.publicKey }));
  const tunneled = async (stages: number, split: LlamaSplitMode): Promise<Figure> => {
    let loadMs = 0;
    const engine = new DistributedEngine({ key: headKey, workers: endpoints.slice(0, stages), split, threads: THREADS, contextSize: CONTEXT, keepWarmMs: 0, logger: silentLogger() });
    const started = performance.now();
    const figure = await timed((onText) => engine.generate({ ...request, onText: (piece) => ((loadMs ||= performance.now() - started), onText(piece)) }));
    await engine.close();
    return { name: `Infernet tunnels, ${stages} ${split === 'layer' ? 'stages (layer split)' : 'way tensor split'}`, ...figure, loadMs };
  };

  // Stages whose workers keep uploaded tensors (ggml-rpc-server -c): the second load sends hashes, not weights.
  const cachedKeys = [generateNodeKey(), generateNodeKey()];
  const cached: StageService[] = [];
  for (const [i, key] of cachedKeys.entries()) {
    cached.push(await StageService.listen({ key, host: '127.0.0.1', port: 0, heads: [headKey.publicKey], launcher: processWorkerLauncher(binaries.rpcServer, { cacheDir: join(dir, `cache-${i}`) }), threads: THREADS, memoryBytes: 2 ** 30, logger: silentLogger() }));
  }
  const loads: number[] = [];
  const warmFirstTokens: number[] = [];
  const wide: { name: string; firstTokenMs: number; tunnelBytes: number }[] = [];
  let wideBytes = 0;
  try {
    for (const [stages, split] of [[2, 'layer'], [3, 'layer'], [2, 'tensor']] as const) {
      const viaDirect = await direct(stages, split);
      const viaTunnel = await tunneled(stages, split);
      figures.push(viaDirect, viaTunnel);
    }
    for (let round = 0; round < 2; round++) {
      const engine = new DistributedEngine({ key: headKey, workers: cached.map((service, i) => ({ url: service.url, pubkey: cachedKeys[i]!.publicKey })), split: 'layer', threads: THREADS, contextSize: CONTEXT, keepWarmMs: 0, logger: silentLogger() });
      const started = performance.now();
      let firstToken = 0;
      await engine.generate({ ...request, sampling: { temperature: 0, maxTokens: 4 }, onText: () => (firstToken ||= performance.now() - started) });
      loads.push(firstToken);
      await engine.close();
    }
    // Warm head: the second job of one engine runs on the head and stages the first one loaded.
    const warm = new DistributedEngine({ key: headKey, workers: endpoints.slice(0, 2), split: 'layer', threads: THREADS, contextSize: CONTEXT, logger: silentLogger(), onJob: recordJob });
    for (let job = 0; job < 2; job++) warmFirstTokens.push((await firstTokenOf(warm, { ...request, sampling: { temperature: 0, maxTokens: 4 } })).firstTokenMs);
    await warm.close();
    for (const service of services) await service.close();
    services.length = 0;

    // Pre-filled tensor cache: stages whose providers hold the wide model, against stages that are sent its weights.
    const wideModel = join(dir, 'bench-wide.gguf');
    wideBytes = (await writeRandomLlamaGguf(wideModel, WIDE_LLAMA_SHAPE, { seed: 9, tensorType: 'F16' })).bytes;
    const wideRequest = { modelPath: wideModel, input: { prompt: PROMPT }, sampling: { temperature: 0, maxTokens: 4 } };
    // The content id the head names; the providers find their copy by it (a content store lookup in a node).
    // Any valid content id names the model here (stage.open refuses a free string): the holders map it to the file.
    const wideCid = cidOfBytes(RAW_CODE, Buffer.from('bench-wide-model')).toString();
    const holders = await stageServices(2, headKey, (i) => ({ launcher: processWorkerLauncher(binaries.rpcServer, { cacheDir: join(dir, `prefill-${i}`) }), tensorCache: { dir: join(dir, `prefill-${i}`), modelPathOf: async (cid: string) => (cid === wideCid ? wideModel : undefined) } }));
    const plain = await stageServices(2, headKey, () => ({ launcher: processWorkerLauncher(binaries.rpcServer) }));
    services.push(...holders.services, ...plain.services);
    const load = async (name: string, workers: StageEndpoint[], modelCid?: string) => {
      const engine = new DistributedEngine({ key: headKey, workers, split: 'layer', threads: THREADS, contextSize: CONTEXT, keepWarmMs: 0, logger: silentLogger(), onJob: recordJob, ...(modelCid ? { modelCidOf: async () => modelCid } : {}) });
      wide.push({ name, ...(await firstTokenOf(engine, wideRequest)) });
      await engine.close();
    };
    await load('weights uploaded through the tunnels', plain.endpoints);
    await load('pre-filled cache, first stage on the provider (hashes and writes the entries)', holders.endpoints, wideCid);
    await load('pre-filled cache, entries already there', holders.endpoints, wideCid);
  } finally {
    for (const service of [...services, ...cached]) await service.close();
    for (const worker of workers) await stopEngineProcess(worker.process);
    await rm(dir, { recursive: true, force: true });
  }

  const base = figures[0]!.decodeTokensPerSecond;
  console.log('| path | decode tokens/s | vs local | load ms |');
  console.log('| --- | --- | --- | --- |');
  for (const f of figures) console.log(`| ${f.name} | ${f.decodeTokensPerSecond.toFixed(1)} | ${(f.decodeTokensPerSecond / base).toFixed(2)} | ${Math.round(f.loadMs)} |`);
  for (let i = 1; i < figures.length; i += 2) {
    const viaDirect = figures[i]!;
    const viaTunnel = figures[i + 1]!;
    console.log(`tunnel/direct, ${viaDirect.name.replace('direct RPC, ', '')}: ${(viaTunnel.decodeTokensPerSecond / viaDirect.decodeTokensPerSecond).toFixed(2)} (target >= 0.90)`);
    const split = viaDirect.name.replace('direct RPC, ', '');
    reportFigure({ name: `decode tokens/s, tunnel / direct RPC, ${split}`, value: viaTunnel.decodeTokensPerSecond / viaDirect.decodeTokensPerSecond, unit: 'ratio', target: { atLeast: split.includes('layer split') ? 0.95 : 0.9 } });
  }
  console.log('(load ms for tunnels counts from the job start to the first token: stages, tunnels, weights, prompt)');
  console.log(`2-stage load through tunnels, job start to first token: weights uploaded ${Math.round(loads[0]!)} ms, from the workers' tensor cache ${Math.round(loads[1]!)} ms (${(loads[1]! / loads[0]!).toFixed(2)}); llama.cpp hashes only tensors over 10 MiB, so a model whose tensors are all smaller gains nothing`);
  console.log(`warm head, 2 stages, job start to first token: first job (stages, head, weights) ${Math.round(warmFirstTokens[0]!)} ms, second job on the warm head ${Math.round(warmFirstTokens[1]!)} ms (${(warmFirstTokens[1]! / warmFirstTokens[0]!).toFixed(3)})`);
  console.log(`wide model (${(wideBytes / 2 ** 20).toFixed(0)} MiB F16, feed-forward tensors of 11 MiB), 2 stages, job start to first token:`);
  for (const w of wide) console.log(`  ${w.name}: ${Math.round(w.firstTokenMs)} ms, ${(w.tunnelBytes / 2 ** 20).toFixed(1)} MiB through the tunnels (${(w.firstTokenMs / wide[0]!.firstTokenMs).toFixed(2)} of the upload's time)`);
}

/** `count` stage services trusting `headKey`, each with its own key, and their endpoints. */
async function stageServices(count: number, headKey: NodeKey, options: (i: number) => Pick<StageServiceOptions, 'launcher' | 'tensorCache'>): Promise<{ services: StageService[]; endpoints: StageEndpoint[] }> {
  const services: StageService[] = [];
  const endpoints: StageEndpoint[] = [];
  for (let i = 0; i < count; i++) {
    const key = generateNodeKey();
    const service = await StageService.listen({ key, host: '127.0.0.1', port: 0, heads: [headKey.publicKey], threads: THREADS, memoryBytes: 2 ** 30, logger: silentLogger(), ...options(i) });
    services.push(service);
    endpoints.push({ url: service.url, pubkey: key.publicKey });
  }
  return { services, endpoints };
}

/** Job start to first token of one short job, and the bytes it moved through the tunnels. */
async function firstTokenOf(engine: DistributedEngine, request: Parameters<DistributedEngine['generate']>[0]): Promise<{ firstTokenMs: number; tunnelBytes: number }> {
  lastJob = undefined;
  const started = performance.now();
  let firstTokenMs = 0;
  await engine.generate({ ...request, onText: () => (firstTokenMs ||= performance.now() - started) });
  return { firstTokenMs, tunnelBytes: (lastJob as DistributedJobReport | undefined)?.tunnelBytes ?? NaN };
}

/** The report of the last job of an engine made with `onJob: recordJob`. */
let lastJob: DistributedJobReport | undefined;
function recordJob(report: DistributedJobReport): void {
  lastJob = report;
}

/** Runs one generation and times its tokens from the first to the last. */
async function timed(run: (onText: (piece?: unknown) => void) => Promise<{ tokenIds: unknown[] }>): Promise<Omit<Figure, 'name' | 'loadMs'>> {
  let first = 0;
  let last = 0;
  const result = await run(() => {
    const now = performance.now();
    first ||= now;
    last = now;
  });
  const tokens = result.tokenIds.length;
  return { tokens, decodeTokensPerSecond: ((tokens - 1) / (last - first)) * 1000 };
}

await main();
