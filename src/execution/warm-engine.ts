// A warm engine per model: the provider loads each model once, in a long-lived engine process (sandboxed in Docker by
// default), and sends every job of that model to it, up to `slots` at once. Supervised as Ollama's llm/server.go
// supervises its runner: a process that dies is restarted, its last error kept for the operator and its jobs failed
// with EngineCrashedError; a model unused for `idleMs` is unloaded. Its process keeps finished jobs' sequences and
// their KV caches, so a job whose prompt starts as an earlier one's did (a shared system prompt) evaluates only the rest.
import { ModelLoadError, NODE_LLAMA_CPP_VERSION, type EmbeddingRequest, type EmbeddingResult, type GenerationRequest, type GenerationResult, type InferenceEngine } from '../inference/index.js';
import { DEFAULT_CONTAINER_DEADLINE_MS } from './container-engine.js';
import { hostModelPath } from './host-model-path.js';
import type { EngineCrashedError } from './engine-errors.js';
import { EngineInstance } from './engine-instance.js';
import type { LaunchEngineProcess } from './engine-process.js';
import type { EngineGpu, GpuLayers } from './engine-worker-protocol.js';

export const DEFAULT_ENGINE_IDLE_MS = 10 * 60_000;
/** Crashes of one model's engine within CRASH_WINDOW_MS past which it is no longer restarted ahead of a job. */
const MAX_EAGER_RESTARTS = 3;
const CRASH_WINDOW_MS = 60_000;

export interface WarmEngineOptions {
  launch: LaunchEngineProcess;
  /** Decoding threads of each engine process. */
  threads: number;
  contextSize: number;
  /** Jobs one model's engine runs at once, each on its own sequence of one context. */
  slots: number;
  /** The llama.cpp backend each engine loads; false for the CPU. */
  gpu?: EngineGpu;
  /** On a GPU, each model's layers offloaded to it (provider.gpuLayers); all when absent. */
  gpuLayers?: GpuLayers;
  /** An engine with no job for this long is unloaded; the next job loads it again. */
  idleMs?: number;
  /** Longest a job may run; a request may ask for less. */
  deadlineMs?: number;
  /** Appended to the engine id, e.g. '+docker'. */
  idSuffix?: string;
  /** Models refused before loading (e.g. ModelExceedsMemoryError), by absolute path: their jobs fail with the error. */
  refusedModels?: ReadonlyMap<string, Error>;
  /** Loads, crashes and unloads, for the log. */
  onEvent?: (event: WarmEngineEvent) => void;
}

export type WarmEngineEvent =
  | { type: 'loaded'; modelPath: string; processId: string; loadMs: number; backend: string; gpuLayers: number }
  | { type: 'load-failed'; modelPath: string; error: Error }
  | { type: 'crashed'; modelPath: string; error: EngineCrashedError; failedJobs: number; restarting: boolean }
  | { type: 'unloaded'; modelPath: string; idleMs: number };

/** One model's engine as `infernet status --json` shows it. */
export interface EngineStatus {
  modelPath: string;
  state: 'loading' | 'ready' | 'stopped';
  /** Times the model was loaded, restarts included. */
  loads: number;
  restarts: number;
  activeJobs: number;
  /** Prompt tokens taken from a kept sequence's KV cache (a shared prefix) instead of being evaluated, over all loads. */
  reusedPromptTokens: number;
  backend?: string;
  gpuLayers?: number;
  lastError?: { message: string; at: string };
}

interface ModelEngine {
  instance?: EngineInstance;
  loads: number;
  restarts: number;
  crashes: number[];
  activeJobs: number;
  /** Reused prompt tokens of the model's engine processes that have ended. */
  endedReusedTokens: number;
  idleTimer?: NodeJS.Timeout;
  lastError?: { message: string; at: string };
}

export class WarmEngine implements InferenceEngine {
  readonly id: string;
  /** The engine process runs LlamaCppEngine, which continues a generation another provider started. */
  readonly continuesGenerations = true;
  private readonly models = new Map<string, ModelEngine>();
  private closed = false;

  constructor(private readonly options: WarmEngineOptions) {
    this.id = `llama.cpp/node-llama-cpp@${NODE_LLAMA_CPP_VERSION}${options.idSuffix ?? ''}`;
  }

  async preload(modelPath: string): Promise<void> {
    const instance = this.instanceFor(this.admitted(await hostModelPath(modelPath)));
    await (await instance).ready;
  }

  async generate(request: GenerationRequest): Promise<GenerationResult> {
    return this.onModelEngine(request.modelPath, request.deadlineMs, (instance, deadlineMs) => instance.generate(request, deadlineMs));
  }

  /** An embed job on the model's engine process (its LlamaCppEngine's embedding context), under the same slots and deadline. */
  async embed(request: EmbeddingRequest): Promise<EmbeddingResult> {
    return this.onModelEngine(request.modelPath, request.deadlineMs, (instance, deadlineMs) => instance.embed(request, deadlineMs));
  }

  /** Runs one job on the model's engine (started if need be), which stays loaded while any job holds it. */
  private async onModelEngine<T>(modelPath: string, requestDeadlineMs: number | undefined, run: (instance: EngineInstance, deadlineMs: number) => Promise<T>): Promise<T> {
    const modelHostPath = this.admitted(await hostModelPath(modelPath));
    const model = this.modelEngine(modelHostPath);
    model.activeJobs++;
    clearTimeout(model.idleTimer);
    try {
      const instance = await this.instanceFor(modelHostPath);
      return await run(instance, Math.max(0, Math.min(requestDeadlineMs ?? Infinity, this.options.deadlineMs ?? DEFAULT_CONTAINER_DEADLINE_MS)));
    } finally {
      model.activeJobs--;
      if (!model.activeJobs) this.scheduleUnload(modelHostPath, model);
    }
  }

  /** Every model this engine has served, loaded or not, with its counts and last error. */
  status(): EngineStatus[] {
    return [...this.models].map(([modelPath, model]) => ({
      modelPath,
      state: !model.instance ? 'stopped' : model.instance.placement ? 'ready' : 'loading',
      loads: model.loads,
      restarts: model.restarts,
      activeJobs: model.activeJobs,
      reusedPromptTokens: model.endedReusedTokens + (model.instance?.reusedPromptTokens ?? 0),
      ...(model.instance?.placement ? { backend: model.instance.placement.backend, gpuLayers: model.instance.placement.gpuLayers } : {}),
      ...(model.lastError ? { lastError: model.lastError } : {}),
    }));
  }

  /** Stops every engine; jobs still running end as cancelled. */
  async close(): Promise<void> {
    this.closed = true;
    const stopping = [...this.models.values()].map((model) => {
      clearTimeout(model.idleTimer);
      const instance = model.instance;
      model.instance = undefined;
      return instance?.stop();
    });
    await Promise.allSettled(stopping);
  }

  private admitted(modelHostPath: string): string {
    const refusal = this.options.refusedModels?.get(modelHostPath);
    if (refusal) throw refusal;
    return modelHostPath;
  }

  private modelEngine(modelHostPath: string): ModelEngine {
    let model = this.models.get(modelHostPath);
    if (!model) {
      model = { loads: 0, restarts: 0, crashes: [], activeJobs: 0, endedReusedTokens: 0 };
      this.models.set(modelHostPath, model);
    }
    return model;
  }

  private pending = new Map<string, Promise<EngineInstance>>();

  /** The model's running engine, or a new one started. */
  private instanceFor(modelHostPath: string): Promise<EngineInstance> {
    const model = this.modelEngine(modelHostPath);
    if (model.instance?.alive) return Promise.resolve(model.instance);
    let starting = this.pending.get(modelHostPath);
    if (!starting) {
      starting = this.startInstance(modelHostPath, model).finally(() => this.pending.delete(modelHostPath));
      this.pending.set(modelHostPath, starting);
    }
    return starting;
  }

  private async startInstance(modelHostPath: string, model: ModelEngine): Promise<EngineInstance> {
    if (this.closed) throw new ModelLoadError(modelHostPath, 'the engine is closed');
    const instance = await EngineInstance.start({
      launch: this.options.launch,
      modelHostPath,
      threads: this.options.threads,
      contextSize: this.options.contextSize,
      slots: this.options.slots,
      gpu: this.options.gpu ?? false,
      ...(this.options.gpuLayers !== undefined ? { gpuLayers: this.options.gpuLayers } : {}),
      onEnd: (crash) => this.onInstanceEnd(modelHostPath, model, instance, crash),
    }).catch((error: unknown) => {
      model.lastError = { message: (error as Error).message, at: new Date().toISOString() };
      throw error;
    });
    model.instance = instance;
    instance.ready.then(
      (loaded) => {
        model.loads++;
        this.options.onEvent?.({ type: 'loaded', modelPath: modelHostPath, processId: instance.processId, loadMs: loaded.loadMs, backend: loaded.backend, gpuLayers: loaded.gpuLayers });
      },
      (error: Error) => {
        model.lastError = { message: error.message, at: new Date().toISOString() };
        this.options.onEvent?.({ type: 'load-failed', modelPath: modelHostPath, error });
      },
    );
    return instance;
  }

  private onInstanceEnd(modelHostPath: string, model: ModelEngine, instance: EngineInstance, crash: EngineCrashedError | undefined): void {
    const failedJobs = instance.activeJobs;
    model.endedReusedTokens += instance.reusedPromptTokens;
    if (model.instance === instance) model.instance = undefined;
    if (!crash || this.closed) return;
    model.lastError = { message: crash.message, at: new Date().toISOString() };
    const now = Date.now();
    model.crashes = [...model.crashes.filter((at) => now - at < CRASH_WINDOW_MS), now];
    // Restarted ahead of the next job only if it had loaded and is not crashing over and over; else on demand.
    const restarting = instance.placement !== undefined && model.crashes.length <= MAX_EAGER_RESTARTS;
    this.options.onEvent?.({ type: 'crashed', modelPath: modelHostPath, error: crash, failedJobs, restarting });
    if (!restarting) return;
    model.restarts++;
    this.instanceFor(modelHostPath).then(
      (restarted) => restarted.ready.catch(() => undefined),
      () => undefined,
    );
  }

  private scheduleUnload(modelHostPath: string, model: ModelEngine): void {
    const idleMs = this.options.idleMs ?? DEFAULT_ENGINE_IDLE_MS;
    clearTimeout(model.idleTimer);
    model.idleTimer = setTimeout(() => {
      const instance = model.instance;
      if (!instance || model.activeJobs) return;
      model.instance = undefined;
      void instance.stop().then(() => this.options.onEvent?.({ type: 'unloaded', modelPath: modelHostPath, idleMs }));
    }, idleMs);
    model.idleTimer.unref();
  }
}
