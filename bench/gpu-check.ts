// The GPU check's measurements (scripts/gpu-check.sh runs them; README "GPU check"). From one run on one machine:
// - tokens/s and first-token time of a job through the provider's llama-server engine (LlamaServerEngine: the
//   supervised llama-server of src/distributed, the one provider engine that runs a llama.cpp built from source,
//   so the one that can use CUDA where node-llama-cpp's prebuilt CUDA binaries are not installed), against the same
//   llama-server binary, started with the same arguments and driven directly over its HTTP API;
// - total tokens/s of 1, 4 and 16 concurrent jobs, through that engine and through a direct llama-server with as many
//   parallel slots (llama.cpp's continuous batching).
// Bundled into one file by esbuild (scripts/gpu-check.sh prepare), so it runs where only a Node binary travels.
//   node gpu-check.mjs write-model --shape llama3-8b --type Q8_0 --out model.gguf
//   node gpu-check.mjs measure --bin-dir DIR --model model.gguf --device cuda [--max-tokens 128] [--rounds 3]
//     [--concurrency 1,4,16] [--threads 8] [--context 2048] [--prompt-words 96] [--job-timeout-s 120]
// Prints one JSON object per line (each with a "figure" field), then a table for people.
import { execFile } from 'node:child_process';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
// Modules by file rather than through their folder's index: the bundle then carries what the check runs, not the
// folders' Docker, libp2p and gRPC clients.
import { freeLoopbackPort, startEngineProcess, stopEngineProcess, waitUntilReady, type EngineProcess } from '../src/distributed/engine-process.js';
import { locateLlamaRpcBinaries } from '../src/distributed/llama-rpc-binaries.js';
import { LlamaServerEngine } from '../src/distributed/llama-server-engine.js';
import { headArguments } from '../src/distributed/llama-server-head.js';
import { inferenceServerHealthy } from '../src/inference/server-health.js';
import { serverSentEvents } from '../src/inference/server-sent-events.js';
import { BENCHMARK_LLAMA_SHAPE, writeRandomLlamaGguf, type RandomLlamaShape, type RandomTensorType } from '../src/models/gguf/write-random-llama-gguf.js';
import { SamplingParams } from '../src/protocol/index.js';

/** Shapes the check can write: Llama-3-8B's and Llama-3.2-1B's (random weights, a made-up tokenizer of their vocabulary size), and small ones. */
const GPU_CHECK_SHAPES: Record<string, RandomLlamaShape> = {
  'llama3-8b': { name: 'infernet-random-llama3-8b', layers: 32, hiddenSize: 4096, heads: 32, kvHeads: 8, feedForwardLength: 14336, vocabularySize: 128256, contextLength: 8192 },
  'llama3-1b': { name: 'infernet-random-llama3-1b', layers: 16, hiddenSize: 2048, heads: 32, kvHeads: 8, feedForwardLength: 8192, vocabularySize: 128256, contextLength: 8192 },
  'bench-100m': BENCHMARK_LLAMA_SHAPE,
  // A vocabulary of 2048, not the fewest: the tiny vocabulary's 256 byte tokens would be half of 512, and llama-server's
  // stream leaves out a token whose text is an incomplete UTF-8 sequence, so the engine would count fewer tokens.
  tiny: { name: 'infernet-random-tiny', layers: 2, hiddenSize: 256, heads: 4, kvHeads: 2, feedForwardLength: 512, vocabularySize: 2048, contextLength: 1024 },
};

/** What the provider asks of every generation (src/provider/provider-service.ts, DEFAULT_FINGERPRINT_TOP_K): fingerprints of 4 alternatives. */
const PROVIDER_FINGERPRINT_TOP_K = 4;
const SERVER_LOAD_TIMEOUT_MS = 300_000;
const WORDS = ['river', 'stone', 'lamp', 'garden', 'cloud', 'paper', 'window', 'bread', 'silver', 'forest', 'music', 'candle', 'harbor', 'meadow', 'lantern', 'valley'];

interface JobTiming {
  /** From the request to the first streamed token, measured here for both paths alike. */
  firstTokenMs: number;
  totalMs: number;
  tokens: number;
  promptTokens: number;
}

interface SingleJobFigure {
  figure: 'single-job';
  path: 'engine' | 'direct';
  rounds: number;
  /** Medians over the rounds. */
  firstTokenMs: number;
  /** Completion tokens over the whole job's time (first token included). */
  tokensPerSecond: number;
  /** Tokens after the first over the time from the first to the last. */
  decodeTokensPerSecond: number;
  tokens: number;
  promptTokens: number;
}

interface ConcurrencyFigure {
  figure: 'concurrency';
  path: 'engine' | 'direct';
  jobs: number;
  /** llama-server's parallel slots on that path. */
  slots: number;
  totalTokensPerSecond: number;
  tokens: number;
  wallMs: number;
  /** Median first token of the jobs started together. */
  firstTokenMs: number;
}

function lineOut(object: object): void {
  process.stdout.write(`${JSON.stringify(object)}\n`);
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

/** Another prompt per job (so no cache stands in for evaluating it), of about `words` words. */
function promptOf(index: number, words: number): string {
  return Array.from({ length: words }, (_, i) => WORDS[(index * 7 + i * (index + 3)) % WORDS.length]).join(' ');
}

async function writeModel(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { shape: { type: 'string', default: 'llama3-8b' }, type: { type: 'string', default: 'Q8_0' }, out: { type: 'string' }, seed: { type: 'string', default: '7' } } });
  const shape = GPU_CHECK_SHAPES[values.shape];
  if (!shape) throw new Error(`unknown shape ${values.shape}: one of ${Object.keys(GPU_CHECK_SHAPES).join(', ')}`);
  if (!['Q8_0', 'F16', 'F32'].includes(values.type)) throw new Error(`unknown tensor type ${values.type}: Q8_0, F16 or F32`);
  if (!values.out) throw new Error('write-model needs --out PATH');
  const started = performance.now();
  const written = await writeRandomLlamaGguf(values.out, shape, { seed: Number(values.seed), tensorType: values.type as RandomTensorType });
  lineOut({ figure: 'model', shape: values.shape, tensorType: values.type, parameters: written.parameterCount, bytes: written.bytes, writeMs: Math.round(performance.now() - started), path: values.out });
}

interface MeasureOptions {
  binDir: string;
  modelPath: string;
  device: string;
  maxTokens: number;
  rounds: number;
  concurrency: number[];
  threads: number;
  contextSize: number;
  promptWords: number;
  jobTimeoutMs: number;
}

/** One llama-server started by this check, outside the engine: the direct path. Stopped by its own pid. */
class DirectServer {
  /** llama.cpp's "offloaded N/M layers to GPU", read as it loads (the process keeps only its last lines). */
  private offloaded: string | undefined;

  private constructor(
    readonly process: EngineProcess,
    readonly baseUrl: string,
    readonly slots: number,
  ) {
    const scan = (chunk: Buffer) => {
      this.offloaded ??= /offloaded (\d+\/\d+) layers to GPU/.exec(chunk.toString('utf8'))?.[1];
    };
    process.child.stdout?.on('data', scan);
    process.child.stderr?.on('data', scan);
  }

  /** The engine's head arguments (headArguments) with `slots` sequences decoded together. */
  static async start(options: { llamaServer: string; modelPath: string; threads: number; contextSize: number; slots: number; gpuLayers?: 'all' }): Promise<DirectServer> {
    const port = await freeLoopbackPort();
    const args = headArguments({ llamaServer: options.llamaServer, modelPath: options.modelPath, threads: options.threads, contextSize: options.contextSize, parallel: options.slots, ...(options.gpuLayers ? { gpuLayers: options.gpuLayers } : {}) }, port);
    const process = startEngineProcess(options.llamaServer, args);
    const server = new DirectServer(process, `http://127.0.0.1:${port}`, options.slots);
    stopOnSignal.add(() => server.stop());
    await waitUntilReady(process, () => server.healthy(), SERVER_LOAD_TIMEOUT_MS, 'llama-server (direct)');
    return server;
  }

  healthy(): Promise<boolean> {
    return inferenceServerHealthy(this.baseUrl);
  }

  /** The layers llama.cpp says it offloaded to the GPU, e.g. "33/33". */
  offloadedLayers(): string | undefined {
    return this.offloaded;
  }

  /** A plain streamed completion, as any llama-server client sends it: no token ids, no log-probabilities. */
  async job(prompt: string, maxTokens: number, timeoutMs: number): Promise<JobTiming> {
    const started = performance.now();
    const response = await fetch(`${this.baseUrl}/completion`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt, n_predict: maxTokens, temperature: 0, stream: true, cache_prompt: false }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!response.ok || !response.body) throw new Error(`llama-server answered ${response.status}: ${(await response.text()).slice(0, 300)}`);
    let firstTokenMs = 0;
    for await (const data of serverSentEvents(response.body)) {
      const chunk = JSON.parse(data) as { stop?: boolean; tokens_predicted?: number; tokens_evaluated?: number; error?: { message?: string } };
      if (chunk.error) throw new Error(`llama-server: ${chunk.error.message ?? JSON.stringify(chunk.error)}`);
      if (!chunk.stop) {
        if (!firstTokenMs) firstTokenMs = performance.now() - started;
        continue;
      }
      return { firstTokenMs, totalMs: performance.now() - started, tokens: chunk.tokens_predicted ?? 0, promptTokens: chunk.tokens_evaluated ?? 0 };
    }
    throw new Error('the llama-server stream ended before its last chunk');
  }

  async stop(): Promise<void> {
    await stopEngineProcess(this.process);
  }
}

/** One job as the provider runs it (provider-service.ts: fingerprints, streamed pieces), timed from the call. */
async function engineJob(engine: LlamaServerEngine, modelPath: string, prompt: string, maxTokens: number, timeoutMs: number): Promise<JobTiming> {
  const started = performance.now();
  let firstTokenMs = 0;
  const result = await engine.generate({
    modelPath,
    input: { prompt },
    sampling: SamplingParams.parse({ maxTokens, temperature: 0 }),
    signal: AbortSignal.timeout(timeoutMs),
    deadlineMs: timeoutMs,
    fingerprintTopK: PROVIDER_FINGERPRINT_TOP_K,
    onText: (piece) => {
      if (!firstTokenMs && piece.tokenIds.length) firstTokenMs = performance.now() - started;
    },
  });
  if (result.finishReason === 'cancelled') throw new Error(`an engine job ran past its ${timeoutMs} ms bound`);
  return { firstTokenMs, totalMs: performance.now() - started, tokens: result.tokenIds.length, promptTokens: result.promptTokens };
}

function singleJobFigure(path: SingleJobFigure['path'], timings: readonly JobTiming[]): SingleJobFigure {
  return {
    figure: 'single-job',
    path,
    rounds: timings.length,
    firstTokenMs: round1(median(timings.map((t) => t.firstTokenMs))),
    tokensPerSecond: round1(median(timings.map((t) => (t.tokens / t.totalMs) * 1000))),
    decodeTokensPerSecond: round1(median(timings.map((t) => (t.tokens > 1 ? ((t.tokens - 1) / (t.totalMs - t.firstTokenMs)) * 1000 : 0)))),
    tokens: median(timings.map((t) => t.tokens)),
    promptTokens: median(timings.map((t) => t.promptTokens)),
  };
}

async function concurrently(path: ConcurrencyFigure['path'], jobs: number, slots: number, run: (index: number) => Promise<JobTiming>): Promise<ConcurrencyFigure> {
  const started = performance.now();
  const timings = await Promise.all(Array.from({ length: jobs }, (_, index) => run(index)));
  const wallMs = performance.now() - started;
  const tokens = timings.reduce((sum, t) => sum + t.tokens, 0);
  return { figure: 'concurrency', path, jobs, slots, totalTokensPerSecond: round1((tokens / wallMs) * 1000), tokens, wallMs: Math.round(wallMs), firstTokenMs: round1(median(timings.map((t) => t.firstTokenMs))) };
}

const round1 = (value: number): number => Math.round(value * 10) / 10;

/**
 * What a SIGTERM or SIGINT (the script's time limit) stops before this process exits: every llama-server it started,
 * by pid, the engine's head included (which setpriv's parent-death signal also covers where it exists).
 */
const stopOnSignal = new Set<() => Promise<void>>();
for (const [signal, code] of [['SIGTERM', 143], ['SIGINT', 130]] as const) {
  process.once(signal, () => {
    process.stderr.write(`gpu-check: ${signal}: stopping the llama-server processes it started\n`);
    void Promise.allSettled([...stopOnSignal].map((stop) => stop())).then(() => process.exit(code));
  });
}

/** The GPUs and what each process holds on them, when nvidia-smi answers (the proof the engine's head is on the GPU). */
function nvidiaSmi(query: string[]): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile('nvidia-smi', [...query, '--format=csv,noheader'], { timeout: 10_000 }, (error, stdout) => resolve(error ? undefined : stdout.trim()));
  });
}

async function measure(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      'bin-dir': { type: 'string' },
      model: { type: 'string' },
      device: { type: 'string', default: 'cpu' },
      'max-tokens': { type: 'string', default: '128' },
      rounds: { type: 'string', default: '3' },
      concurrency: { type: 'string', default: '1,4,16' },
      threads: { type: 'string', default: String(Math.min(8, cpus().length)) },
      context: { type: 'string', default: '2048' },
      'prompt-words': { type: 'string', default: '96' },
      'job-timeout-s': { type: 'string', default: '120' },
    },
  });
  if (!values['bin-dir'] || !values.model) throw new Error('measure needs --bin-dir DIR and --model PATH');
  const options: MeasureOptions = {
    binDir: values['bin-dir'],
    modelPath: values.model,
    device: values.device,
    maxTokens: positive(values['max-tokens'], 'max-tokens'),
    rounds: positive(values.rounds, 'rounds'),
    concurrency: values.concurrency.split(',').map((n) => positive(n, 'concurrency')),
    threads: positive(values.threads, 'threads'),
    contextSize: positive(values.context, 'context'),
    promptWords: positive(values['prompt-words'], 'prompt-words'),
    jobTimeoutMs: positive(values['job-timeout-s'], 'job-timeout-s') * 1000,
  };
  await runMeasurements(options);
}

function positive(text: string, name: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`--${name} must be a positive integer, not ${text}`);
  return value;
}

async function runMeasurements(o: MeasureOptions): Promise<void> {
  const { llamaServer } = locateLlamaRpcBinaries(o.binDir);
  const gpus = o.device === 'cpu' ? undefined : await nvidiaSmi(['--query-gpu=name,memory.total,driver_version']);
  // Every layer on the GPU, as a provider offloads them (provider.gpuLayers: all), for the engine and the direct server.
  const offload = o.device === 'cpu' ? {} : { gpuLayers: 'all' as const };
  const engine = new LlamaServerEngine({ threads: o.threads, contextSize: o.contextSize, binDir: o.binDir, ...offload });
  stopOnSignal.add(() => engine.close());
  lineOut({ figure: 'setup', device: o.device, gpus: gpus ?? null, engine: engine.id, engineClass: 'LlamaServerEngine', binDir: o.binDir, model: o.modelPath, maxTokens: o.maxTokens, rounds: o.rounds, threads: o.threads, contextSize: o.contextSize, promptWords: o.promptWords });
  const servers: DirectServer[] = [];
  const singles: SingleJobFigure[] = [];
  const concurrency: ConcurrencyFigure[] = [];
  let promptIndex = 0;
  const nextPrompt = () => promptOf(promptIndex++, o.promptWords);
  try {
    // 1. One job at a time, alternated between the engine and the direct server (both loaded), so both see the same machine.
    let started = performance.now();
    await engine.preload(o.modelPath);
    const engineLoadMs = performance.now() - started;
    started = performance.now();
    const direct = await DirectServer.start({ llamaServer, modelPath: o.modelPath, threads: o.threads, contextSize: o.contextSize, slots: 1, ...offload });
    servers.push(direct);
    const directLoadMs = performance.now() - started;
    const gpuMemory = o.device === 'cpu' ? undefined : await nvidiaSmi(['--query-compute-apps=pid,process_name,used_memory']);
    lineOut({ figure: 'load', engineLoadMs: Math.round(engineLoadMs), directLoadMs: Math.round(directLoadMs), offloadedLayers: direct.offloadedLayers() ?? null, gpuProcesses: gpuMemory ?? null });
    // Warm-up: the first job of a server pays one-off costs (CUDA graphs, buffers).
    await engineJob(engine, o.modelPath, nextPrompt(), o.maxTokens, o.jobTimeoutMs);
    await direct.job(nextPrompt(), o.maxTokens, o.jobTimeoutMs);
    const engineTimings: JobTiming[] = [];
    const directTimings: JobTiming[] = [];
    for (let round = 0; round < o.rounds; round++) {
      const prompt = nextPrompt();
      if (round % 2 === 0) {
        engineTimings.push(await engineJob(engine, o.modelPath, prompt, o.maxTokens, o.jobTimeoutMs));
        directTimings.push(await direct.job(prompt, o.maxTokens, o.jobTimeoutMs));
      } else {
        directTimings.push(await direct.job(prompt, o.maxTokens, o.jobTimeoutMs));
        engineTimings.push(await engineJob(engine, o.modelPath, prompt, o.maxTokens, o.jobTimeoutMs));
      }
    }
    singles.push(singleJobFigure('engine', engineTimings), singleJobFigure('direct', directTimings));
    for (const figure of singles) lineOut(figure);
    const [viaEngine, viaDirect] = singles as [SingleJobFigure, SingleJobFigure];
    lineOut({ figure: 'engine-vs-direct', firstTokenDeltaMs: round1(viaEngine.firstTokenMs - viaDirect.firstTokenMs), tokensPerSecondRatio: round2(viaEngine.tokensPerSecond / viaDirect.tokensPerSecond) });
    await direct.stop();

    // 2. N jobs at once through the engine with as many slots: continuous batching in its llama-server.
    await engine.close();
    const slots = Math.max(...o.concurrency);
    const batchingEngine = new LlamaServerEngine({ threads: o.threads, contextSize: o.contextSize, binDir: o.binDir, slots, ...offload });
    stopOnSignal.add(() => batchingEngine.close());
    try {
      for (const jobs of o.concurrency) {
        // Once unmeasured, as on the direct server below.
        await concurrently('engine', jobs, slots, () => engineJob(batchingEngine, o.modelPath, nextPrompt(), o.maxTokens, o.jobTimeoutMs * 2));
        const figure = await concurrently('engine', jobs, slots, () => engineJob(batchingEngine, o.modelPath, nextPrompt(), o.maxTokens, o.jobTimeoutMs * 2));
        concurrency.push(figure);
        lineOut(figure);
      }
    } finally {
      await batchingEngine.close();
    }

    // 3. N jobs at once on one llama-server with as many slots: continuous batching.
    const batching = await DirectServer.start({ llamaServer, modelPath: o.modelPath, threads: o.threads, contextSize: o.contextSize, slots, ...offload });
    servers.push(batching);
    for (const jobs of o.concurrency) {
      // Once unmeasured: a batch of a new size pays one-off costs on a GPU (CUDA graphs of that size).
      await concurrently('direct', jobs, slots, () => batching.job(nextPrompt(), o.maxTokens, o.jobTimeoutMs * 2));
      const figure = await concurrently('direct', jobs, slots, () => batching.job(nextPrompt(), o.maxTokens, o.jobTimeoutMs * 2));
      concurrency.push(figure);
      lineOut(figure);
    }
    await batching.stop();
  } finally {
    await engine.close();
    await Promise.allSettled(servers.map((server) => server.stop()));
  }
  printTable(o, singles, concurrency);
}

const round2 = (value: number): number => Math.round(value * 100) / 100;

function printTable(o: MeasureOptions, singles: readonly SingleJobFigure[], concurrency: readonly ConcurrencyFigure[]): void {
  const lines = [
    '',
    `GPU check on ${o.device}: ${o.maxTokens} greedy tokens per job, prompts of ${singles[0]?.promptTokens ?? '?'} tokens, -t ${o.threads}, -c ${o.contextSize} per slot`,
    '',
    '| one job | first token | tokens/s | decode tokens/s | tokens |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...singles.map((s) => `| ${s.path === 'engine' ? "provider's engine (LlamaServerEngine)" : 'llama-server, direct'} | ${s.firstTokenMs} ms | ${s.tokensPerSecond} | ${s.decodeTokensPerSecond} | ${s.tokens} |`),
    '',
    '| concurrent jobs | path | slots | total tokens/s | tokens | wall | median first token |',
    '| ---: | --- | ---: | ---: | ---: | ---: | ---: |',
    ...concurrency.map((c) => `| ${c.jobs} | ${c.path === 'engine' ? "provider's engine" : 'llama-server, direct'} | ${c.slots} | ${c.totalTokensPerSecond} | ${c.tokens} | ${c.wallMs} ms | ${c.firstTokenMs} ms |`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

const [command, ...rest] = process.argv.slice(2);
if (command === 'write-model') await writeModel(rest);
else if (command === 'measure') await measure(rest);
else {
  process.stderr.write('usage: gpu-check.mjs write-model --shape NAME --type Q8_0|F16 --out PATH | measure --bin-dir DIR --model PATH [--device cuda|cpu] ...\n');
  process.exitCode = 2;
}
