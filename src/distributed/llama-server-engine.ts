// llama.cpp's own server as an engine beside the in-process one: one supervised llama-server per model, kept
// loaded, jobs streamed over its HTTP API, up to `slots` of them decoded together (llama-server's continuous
// batching). The distributed engine runs the same head with RPC stages.
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
// The module itself, not the folder's index: the GPU check bundles this engine without Docker's client.
import { JobSlots } from '../execution/job-slots.js';
import type { EngineStatus } from '../execution/warm-engine.js';
import { ModelLoadError, type GenerationRequest, type InferenceEngine } from '../inference/index.js';
import type { GpuLayers } from '../planner/index.js';
import { continueGeneration, emptyProgress, promptTokensOf, resultOf, type HeadGenerationResult } from './head-generation.js';
import { LLAMA_RPC_ENGINE_ID, locateLlamaRpcBinaries } from './llama-rpc-binaries.js';
import { HeadFailedError, LlamaServerHead, type LaunchLlamaServer } from './llama-server-head.js';

/** How much of a dead server's last output the operator's status keeps. */
const LAST_OUTPUT_CHARS = 1_000;

export interface LlamaServerEngineOptions {
  /** Threads for one-token steps: a job decoding alone. */
  threads: number;
  /**
   * Threads for steps of several tokens: prompts, and jobs decoded together. On a CPU one token's step is too short
   * to share between cores, while a batch's is not, so a provider may give batches more.
   */
  batchThreads?: number;
  /** Context of each job. */
  contextSize: number;
  /** Jobs decoded together on one model (llama-server's parallel slots); 1 when absent: jobs take turns. */
  slots?: number;
  /** On a GPU build, each model's layers offloaded (-ngl): all, or this many (provider.gpuLayers). */
  gpuLayers?: GpuLayers;
  /** The build's bin directory; the CPU build from scripts/build-llama-rpc.sh when absent. */
  binDir?: string;
  /** Where each model's llama-server runs (llamaServerContainerLauncher: the Docker sandbox); a child process when absent. */
  launch?: LaunchLlamaServer;
  /** Models refused at start-up (too large for the memory given), by absolute path: their jobs fail with the reason. */
  refusedModels?: ReadonlyMap<string, Error>;
  /** After the engine id in signed results: where it runs (`+docker`), so results of the same setup compare. */
  idSuffix?: string;
  /** Told when a model's server starts, is ready, fails to start or is found dead (the daemon rewrites its state). */
  onChange?: () => void;
}

export class LlamaServerEngine implements InferenceEngine {
  readonly id: string;
  private readonly heads = new Map<string, Promise<LlamaServerHead>>();
  /** Per model, its llama-server's slots: jobs past them wait here, where a cancelled one leaves the queue. */
  private readonly slots = new Map<string, JobSlots>();
  /** Per model, what the operator reads in `infernet status --json`: starts, and why the last server ended. */
  private readonly records = new Map<string, { loads: number; current?: LlamaServerHead; loading: boolean; lastError?: { message: string; at: string } }>();

  constructor(private readonly options: LlamaServerEngineOptions) {
    this.id = `${LLAMA_RPC_ENGINE_ID}${options.idSuffix ?? ''}`;
  }

  async preload(modelPath: string): Promise<void> {
    this.refuseIfRefused(modelPath);
    await this.head(modelPath);
  }

  async generate(request: GenerationRequest): Promise<HeadGenerationResult> {
    this.refuseIfRefused(request.modelPath);
    let slots = this.slots.get(request.modelPath);
    if (!slots) this.slots.set(request.modelPath, (slots = new JobSlots(this.options.slots ?? 1)));
    // A job cancelled while it waited for a slot ends as one cancelled before its first token.
    const release = await slots.acquire(request.signal).catch((error: unknown) => {
      if (request.signal?.aborted) return undefined;
      throw error;
    });
    if (!release) return resultOf('cancelled', emptyProgress(), 0, performance.now());
    try {
      return await this.run(request);
    } finally {
      release();
    }
  }

  /** Each model's server: loading, ready or stopped, its starts (restarts included) and the last error. */
  status(): EngineStatus[] {
    return [...this.records].map(([modelPath, record]) => ({
      modelPath,
      state: record.loading ? 'loading' : record.current && !record.current.hasExited() ? 'ready' : 'stopped',
      loads: record.loads,
      restarts: Math.max(0, record.loads - 1),
      activeJobs: this.slots.get(modelPath)?.inUse ?? 0,
      // Prompts are evaluated in full: llama-server's prompt cache changes greedy outputs (measured), so it is off.
      reusedPromptTokens: 0,
      ...(record.lastError ? { lastError: record.lastError } : {}),
    }));
  }

  async close(): Promise<void> {
    for (const head of this.heads.values()) await (await head.catch(() => undefined))?.stop();
    this.heads.clear();
  }

  private async run(request: GenerationRequest): Promise<HeadGenerationResult> {
    const started = performance.now();
    let head = await this.liveHead(request.modelPath);
    let prompt: number[];
    try {
      prompt = await promptTokensOf(head, request.input);
    } catch (error) {
      // A head that died since its last job but has not been seen exiting yet (a container's end is reported a
      // moment after it): nothing of this job has run, so it starts on a new head.
      if (!(error instanceof HeadFailedError) || (await head.healthy())) throw error;
      this.forget(request.modelPath, head);
      await head.stop().catch(() => undefined);
      head = await this.liveHead(request.modelPath);
      prompt = await promptTokensOf(head, request.input);
    }
    const progress = emptyProgress();
    const end = await continueGeneration(head, request, prompt, progress, started);
    return resultOf(end, progress, prompt.length, started, request.fingerprintTopK);
  }

  private refuseIfRefused(modelPath: string): void {
    const refusal = this.options.refusedModels?.get(resolve(modelPath));
    if (refusal) throw refusal;
  }

  /** The model's head, started again when the last one died (killed, out of memory) rather than failing every job. */
  private async liveHead(modelPath: string): Promise<LlamaServerHead> {
    const head = await this.head(modelPath);
    if (!head.hasExited()) return head;
    this.forget(modelPath, head);
    return this.head(modelPath);
  }

  /** Drops `dead` as the model's head, unless another job already replaced it, and keeps why it ended. */
  private forget(modelPath: string, dead: LlamaServerHead): void {
    // Not loading and `dead` the current head: the model's head promise is the one that gave it.
    const record = this.records.get(modelPath);
    if (!record || record.loading || record.current !== dead) return;
    this.heads.delete(modelPath);
    this.noteError(modelPath, `llama-server ended; last output: ${dead.lastOutput().slice(-LAST_OUTPUT_CHARS)}`);
  }

  private noteError(modelPath: string, message: string): void {
    const record = this.records.get(modelPath);
    if (record) record.lastError = { message, at: new Date().toISOString() };
    this.options.onChange?.();
  }

  private head(modelPath: string): Promise<LlamaServerHead> {
    let head = this.heads.get(modelPath);
    if (!head) {
      head = this.startHead(modelPath);
      const starting = head;
      const record = this.records.get(modelPath) ?? { loads: 0, loading: false };
      this.records.set(modelPath, record);
      record.loads++;
      record.loading = true;
      this.options.onChange?.();
      void starting.then(
        (started) => {
          Object.assign(record, { current: started, loading: false });
          this.options.onChange?.();
        },
        (error: Error) => {
          record.loading = false;
          this.noteError(modelPath, error.message);
        },
      );
      this.heads.set(modelPath, head);
      head.catch(() => this.heads.delete(modelPath));
    }
    return head;
  }

  private async startHead(modelPath: string): Promise<LlamaServerHead> {
    await stat(modelPath).catch((cause: unknown) => {
      throw new ModelLoadError(modelPath, `model file ${modelPath} cannot be read`, { cause });
    });
    const { llamaServer } = locateLlamaRpcBinaries(this.options.binDir);
    try {
      const { threads, batchThreads, contextSize, slots, gpuLayers, launch } = this.options;
      return await LlamaServerHead.start({ llamaServer, modelPath, threads, contextSize, ...(batchThreads !== undefined ? { batchThreads } : {}), ...(gpuLayers !== undefined ? { gpuLayers } : {}), parallel: slots ?? 1, ...(launch ? { launch } : {}) });
    } catch (cause) {
      throw new ModelLoadError(modelPath, `llama-server cannot load ${modelPath}: ${(cause as Error).message}`, { cause });
    }
  }
}
