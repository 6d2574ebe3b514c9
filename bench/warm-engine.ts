// The warm engine (one long-lived engine process per model, continuous batching, prefix reuse) on the project's
// 100M benchmark model, from one run:
// - a job's first token through the warm engine against the in-process engine with the model loaded, and against
//   today's per-job container path (each job loads the model in a fresh container) when Docker is here;
// - total tokens/s of 4 concurrent jobs against 1, through one warm engine process;
// - first token of a prompt whose 512-token prefix another job already evaluated, against a cold prompt of the same
//   length;
// - the same 1 and 4 jobs through the llama-server engine (provider.engine: llama-server, llama.cpp's own server built
//   by scripts/build-llama-rpc.sh, 4 slots; in Docker like the warm engine where there is an engine) on `serverThreads`
//   threads, alternated with the warm engine's rounds;
// - llama.cpp's own batched decoding of the same model, 1 and 4 sequences in one process (llama-batched-bench, same
//   build, `serverThreads` threads, no server), in the same rounds: what the kernels themselves gain from batching
//   here, which bounds what either engine can.
//   node_modules/.bin/node dist/bench/warm-engine.js [rounds] [threads] [serverThreads]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { getLlama } from 'node-llama-cpp';
import { buildRuntimeImage, childProcessEngineLauncher, ContainerEngine, containerEngineLauncher, DEFAULT_CONTAINER_LIMITS, detectDockerEngine, WarmEngine, type LaunchEngineProcess } from '../src/execution/index.js';
import { llamaServerContainerLauncher, LlamaServerEngine, locateLlamaRpcBinaries } from '../src/distributed/index.js';
import { LlamaCppEngine, type GenerationResult, type InferenceEngine } from '../src/inference/index.js';
import { BENCHMARK_LLAMA_SHAPE, writeRandomLlamaGguf } from '../src/models/index.js';
import { SamplingParams } from '../src/protocol/index.js';
import { batchedBenchIn, measureBatchedDecode } from './llama-batched-bench.js';
import { reportFigure } from './summary/bench-figure.js';

const rounds = Number(process.argv[2] ?? 5);
/** Decoding threads of each engine: the warm engine's process and the in-process one alike. */
const threads = Number(process.argv[3] ?? 1);
/** Threads of the llama-server engine, for single tokens and batches alike: both cores by default. */
const serverThreads = Number(process.argv[4] ?? 2);
const PREFIX_TOKENS = 512;
const DECODE_TOKENS = 64;
const CONTEXT = 2048;

const llamaServerBuilt = (): boolean => {
  try {
    locateLlamaRpcBinaries();
    return true;
  } catch {
    return false;
  }
};
const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};
const ms = (value: number): string => `${value.toFixed(1)} ms`;

const dir = await mkdtemp(join(tmpdir(), 'infernet-bench-warm-'));
const engines: { close(): Promise<void> }[] = [];
try {
  const modelPath = join(dir, 'bench-100m-q8_0.gguf');
  const written = await writeRandomLlamaGguf(modelPath, BENCHMARK_LLAMA_SHAPE, { seed: 7, tensorType: 'Q8_0' });

  // Prompts of a known length in the model's own tokenizer, and its end token banned so every job decodes in full.
  const llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' as never });
  const model = await llama.loadModel({ modelPath });
  const words = ['river', 'stone', 'lamp', 'garden', 'cloud', 'paper', 'window', 'bread', 'silver', 'forest', 'music', 'candle'];
  const textOf = (seed: number, tokens: number): string => {
    let text = '';
    for (let i = 0; i < 8 * tokens && model.tokenize(text).length < tokens; i++) text += `${words[(seed * 7 + i * (seed + 3)) % words.length]} `;
    return text;
  };
  const eos = model.tokens.eos;
  const jobPrompts = [0, 1, 2, 3].map((index) => textOf(100 + index, 16));
  const prefix = textOf(1, PREFIX_TOKENS);
  const coldPrefixes = Array.from({ length: rounds }, (_, round) => textOf(200 + round, PREFIX_TOKENS));
  const prefixTokens = model.tokenize(prefix).length;
  await model.dispose();
  await llama.dispose();
  const sampling = (maxTokens: number) => SamplingParams.parse({ maxTokens, ...(eos !== null ? { logitBias: [[eos, -100]] } : {}) });
  const short = { modelPath, input: { prompt: 'The garden by the river' }, sampling: sampling(4) };

  const docker = (await detectDockerEngine()).reachable ? new Docker() : undefined;
  const image = docker ? await buildRuntimeImage() : undefined;
  const launch: LaunchEngineProcess = docker && image
    ? containerEngineLauncher({ docker, image, nodeId: 'bench-warm-engine', limits: { ...DEFAULT_CONTAINER_LIMITS, cpus: Math.max(2, threads) } })
    : childProcessEngineLauncher();
  const sandbox = docker ? 'Docker container' : 'child process (no Docker engine here)';

  // 1. First token: in-process with the model loaded, the warm engine, and a fresh container per job.
  const inProcess = new LlamaCppEngine({ threads, contextSize: CONTEXT, slots: 1 });
  engines.push(inProcess);
  const warm = new WarmEngine({ launch, threads, contextSize: CONTEXT, slots: 4, idSuffix: '+bench' });
  engines.push(warm);
  const coldInProcess = await inProcess.generate(short);
  await warm.generate(short);
  const inProcessFirst: number[] = [];
  const warmFirst: number[] = [];
  for (let round = 0; round < rounds; round++) {
    // Alternated, so both see the same load; another prompt each round, so the warm engine's prefix cache does not
    // stand in for evaluating it.
    const prompt = { ...short, input: { prompt: `${words[round % words.length]} by the river` } };
    inProcessFirst.push((await inProcess.generate(prompt)).firstTokenMs);
    warmFirst.push((await warm.generate(prompt)).firstTokenMs);
  }
  const perJob: number[] = [];
  if (docker && image) {
    const contained = new ContainerEngine({ docker, image, nodeId: 'bench-warm-engine', threads, contextSize: CONTEXT });
    for (let round = 0; round < Math.min(rounds, 3); round++) perJob.push((await contained.generate(short)).firstTokenMs);
  }

  // 2. Throughput: 4 concurrent jobs against 1, through the one warm engine process, and through the llama-server
  // engine where it is built; rounds alternated so both see the same load.
  // In Docker as the warm engine is, where there is an engine; a child process otherwise.
  const serverLaunch = docker && image && llamaServerBuilt() ? llamaServerContainerLauncher({ docker, image, binDir: locateLlamaRpcBinaries().binDir, nodeId: 'bench-warm-engine', limits: { ...DEFAULT_CONTAINER_LIMITS, cpus: serverThreads } }) : undefined;
  const server = llamaServerBuilt() ? new LlamaServerEngine({ threads: serverThreads, contextSize: CONTEXT, slots: 4, ...(serverLaunch ? { launch: serverLaunch } : {}) }) : undefined;
  if (server) engines.push(server);
  const rate = (results: GenerationResult[], wallMs: number) => results.reduce((sum, result) => sum + result.tokenIds.length, 0) / (wallMs / 1000);
  const throughputRound = async (engine: InferenceEngine, into: { single: number[]; batched: number[] }) => {
    const job = (index: number) => engine.generate({ modelPath, input: { prompt: jobPrompts[index]! }, sampling: sampling(DECODE_TOKENS) });
    let started = performance.now();
    into.single.push(rate([await job(0)], performance.now() - started));
    started = performance.now();
    into.batched.push(rate(await Promise.all([0, 1, 2, 3].map(job)), performance.now() - started));
  };
  const warmRates = { single: [] as number[], batched: [] as number[] };
  const serverRates = { single: [] as number[], batched: [] as number[] };
  const kernelRates = { single: [] as number[], batched: [] as number[] };
  const batchedBench = llamaServerBuilt() ? batchedBenchIn(locateLlamaRpcBinaries().binDir) : undefined;
  const kernelRound = async (binary: string) => {
    const rates = await measureBatchedDecode(binary, { modelPath, threads: serverThreads, contextSize: CONTEXT, promptTokens: 16, decodeTokens: DECODE_TOKENS, sequences: [1, 4] });
    kernelRates.single.push(rates.get(1)!);
    kernelRates.batched.push(rates.get(4)!);
  };
  if (server) await throughputRound(server, { single: [], batched: [] }); // loads it
  for (let round = 0; round < Math.max(2, Math.ceil(rounds / 2)); round++) {
    await throughputRound(warm, warmRates);
    if (server) await throughputRound(server, serverRates);
    if (batchedBench) await kernelRound(batchedBench);
  }
  if (server) await server.close();
  const { single, batched } = warmRates;

  // 3. Shared 512-token prefix: a new job after one that evaluated the same prefix, against a prompt never seen.
  await warm.generate({ modelPath, input: { prompt: `${prefix}and the lamp` }, sampling: sampling(1) });
  const reused = () => warm.status()[0]?.reusedPromptTokens ?? 0;
  let reusedByShared = 0;
  const shared: number[] = [];
  const cold: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const ending = `${words[round % words.length]} ${words[(round + 5) % words.length]}`;
    cold.push((await warm.generate({ modelPath, input: { prompt: `${coldPrefixes[round]!}${ending}` }, sampling: sampling(1) })).firstTokenMs);
    // The cold prompt took the least recently used sequence: the prefix is primed again before each measured job.
    await warm.generate({ modelPath, input: { prompt: `${prefix}and the lamp` }, sampling: sampling(1) });
    const before = reused();
    shared.push((await warm.generate({ modelPath, input: { prompt: `${prefix}${ending}` }, sampling: sampling(1) })).firstTokenMs);
    reusedByShared += reused() - before;
  }
  const reusedPerJob = reusedByShared / rounds;
  const [status] = warm.status();

  const warmMs = median(warmFirst);
  const inProcessMs = median(inProcessFirst);
  const one = median(single);
  const four = median(batched);
  console.log(`model                       ${BENCHMARK_LLAMA_SHAPE.name}, ${(written.parameterCount / 1e6).toFixed(1)}M parameters, Q8_0, ${(written.bytes / 1e6).toFixed(0)} MB; ${threads} decoding thread(s) per engine; ${rounds} rounds, medians`);
  console.log(`warm engine                 one ${sandbox}, 4 slots, loaded ${status?.loads} time(s)`);
  console.log(`first token, in-process     ${ms(inProcessMs)} warm, ${ms(coldInProcess.firstTokenMs)} cold (model load included)`);
  console.log(`first token, warm engine    ${ms(warmMs)} (+${ms(warmMs - inProcessMs)} over in-process)`);
  if (perJob.length) console.log(`first token, container/job  ${ms(median(perJob))} (today's per-job container path, ${perJob.length} runs; ${(median(perJob) / warmMs).toFixed(0)}x the warm engine)`);
  else console.log('first token, container/job  not measured: no Docker engine here; compare with in-process cold above');
  console.log(`decode, 1 job               ${one.toFixed(1)} tokens/s (${DECODE_TOKENS} tokens)`);
  console.log(`decode, 4 concurrent jobs   ${four.toFixed(1)} tokens/s in total, ${(four / one).toFixed(2)}x one job`);
  if (server) {
    const [serverOne, serverFour] = [median(serverRates.single), median(serverRates.batched)];
    console.log(`llama-server engine         ${serverLaunch ? 'in a Docker container' : 'as a child process'}, ${serverThreads} thread(s), 4 slots: 1 job ${serverOne.toFixed(1)} tokens/s, 4 concurrent ${serverFour.toFixed(1)} in total, ${(serverFour / serverOne).toFixed(2)}x one job; ${(serverFour / Math.max(one, serverOne)).toFixed(2)}x the fastest single job of both engines`);
    reportFigure({ name: 'llama-server engine, total tokens/s, 4 concurrent jobs / 1', value: serverFour / serverOne, unit: 'x', note: `${serverThreads} threads, 4 slots` });
    reportFigure({ name: 'total tokens/s, llama-server engine 4 concurrent / fastest single job of both engines', value: serverFour / Math.max(one, serverOne), unit: 'x' });
  } else {
    console.log('llama-server engine         not measured: llama.cpp with RPC is not built (scripts/build-llama-rpc.sh)');
  }
  if (kernelRates.single.length) {
    const [kernelOne, kernelFour] = [median(kernelRates.single), median(kernelRates.batched)];
    const ceiling = kernelFour / kernelOne;
    console.log(`llama.cpp itself            llama-batched-bench, ${serverThreads} thread(s), one process, no server: 1 sequence ${kernelOne.toFixed(1)} tokens/s, 4 together ${kernelFour.toFixed(1)} in total, ${ceiling.toFixed(2)}x`);
    reportFigure({ name: "llama.cpp's own batched decode (llama-batched-bench), 4 sequences / 1", value: ceiling, unit: 'x', note: `${serverThreads} threads: what batching gains in the kernels both engines run` });
    if (server) {
      const engineRatio = median(serverRates.batched) / median(serverRates.single);
      console.log(`                            the llama-server engine's 4/1 is ${(engineRatio / ceiling).toFixed(2)} of llama.cpp's own`);
    }
  } else {
    console.log('llama.cpp itself            not measured: llama-batched-bench is not built (scripts/build-llama-rpc.sh adds it)');
  }
  console.log(`first token, cold ${prefixTokens}-token prompt    ${ms(median(cold))}`);
  console.log(`first token, shared prefix        ${ms(median(shared))} (${reusedPerJob.toFixed(0)} prompt tokens reused per job), ${(median(cold) / median(shared)).toFixed(1)}x faster`);

  reportFigure({ name: 'first token, warm engine - warm in-process', value: warmMs - inProcessMs, unit: 'ms', target: { atMost: 10 }, note: `engine in a ${sandbox}` });
  if (perJob.length) reportFigure({ name: 'first token, per-job container - warm engine', value: median(perJob) - warmMs, unit: 'ms' });
  else reportFigure({ name: 'first token, cold in-process - warm engine', value: coldInProcess.firstTokenMs - warmMs, unit: 'ms', note: 'no Docker engine: cold in-process load stands in for the per-job container' });
  reportFigure({ name: 'total tokens/s, 4 concurrent jobs / 1', value: four / one, unit: 'x', target: { atLeast: 2 } });
  reportFigure({ name: `first token, cold / shared ${PREFIX_TOKENS}-token prefix`, value: median(cold) / median(shared), unit: 'x' });
} finally {
  for (const engine of engines.reverse()) await engine.close().catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
}
