// One running engine process for one model, seen from the host: it sends the load, multiplexes jobs over the
// process's lines (each with its own stream, deadline and cancel), rebuilds the worker's errors, and when the
// process ends it fails the jobs it still held with EngineCrashedError (or ends them as cancelled when it was told
// to stop).
import { randomUUID } from 'node:crypto';
import { InvalidGrammarError, ModelLoadError, PromptTooLongError, type EmbeddingRequest, type EmbeddingResult, type GeneratedPiece, type GenerationRequest, type GenerationResult } from '../inference/index.js';
import { decodeEmbeddingVector } from '../protocol/index.js';
import { ContainerDeadlineError } from './container-errors.js';
import { EngineCrashedError, EngineProtocolError } from './engine-errors.js';
import type { EngineProcess, EngineProcessEnd, LaunchEngineProcess } from './engine-process.js';
import { ENGINE_WORKER_PROTOCOL_VERSION, EngineMessage, type EngineEmbeddedMessage, type EngineErrorMessage, type EngineGenerateRequest, type EngineGpu, type EngineLoadedMessage, type GpuLayers, type EngineRequest } from './engine-worker-protocol.js';
import { JobSlots } from './job-slots.js';
import { InfernetError } from '../errors/index.js';

export interface EngineInstanceOptions {
  launch: LaunchEngineProcess;
  modelHostPath: string;
  threads: number;
  contextSize: number;
  slots: number;
  gpu: EngineGpu;
  /** On a GPU, the layers offloaded to it; all when absent. */
  gpuLayers?: GpuLayers;
  /** Told once when the process ends: with the crash when it was not asked to stop. */
  onEnd: (crash: EngineCrashedError | undefined) => void;
}

interface PendingJob {
  started: number;
  pieces: GeneratedPiece[];
  firstTokenMs: number;
  onText?: ((piece: GeneratedPiece) => void) | undefined;
  resolve: (result: GenerationResult) => void;
  /** Set on an embed job: its vectors arrive in one `embedded` line instead of text and a result. */
  resolveEmbedding?: (message: EngineEmbeddedMessage) => void;
  reject: (error: Error) => void;
}

/** An embed job still running when its engine was told to stop: it has no partial answer to end with. */
export class EmbeddingStoppedError extends InfernetError {
  override readonly name = 'EmbeddingStoppedError';
  constructor(message: string) {
    super('cancelled', message);
  }
}

export class EngineInstance {
  /** Resolves when the model is loaded; rejects with the load error or the crash. */
  readonly ready: Promise<EngineLoadedMessage>;
  placement?: EngineLoadedMessage;
  /** Prompt tokens this process took from kept KV caches instead of evaluating them (the worker's running total). */
  reusedPromptTokens = 0;
  private readonly jobs = new Map<string, PendingJob>();
  private readonly slots: JobSlots;
  private process?: EngineProcess;
  private stopping = false;
  private ended = false;
  private loadError?: Error;
  private resolveReady!: (loaded: EngineLoadedMessage) => void;
  private rejectReady!: (error: Error) => void;

  private constructor(private readonly options: EngineInstanceOptions) {
    this.slots = new JobSlots(options.slots);
    this.ready = new Promise((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    this.ready.catch(() => undefined);
  }

  static async start(options: EngineInstanceOptions): Promise<EngineInstance> {
    const instance = new EngineInstance(options);
    const process = await options.launch({ modelHostPath: options.modelHostPath, onLine: (line) => instance.onLine(line) });
    instance.process = process;
    void process.ended.then((end) => instance.onEnded(end));
    instance.send({ type: 'load', v: ENGINE_WORKER_PROTOCOL_VERSION, modelPath: process.modelPath, threads: options.threads, contextSize: options.contextSize, slots: options.slots, gpu: options.gpu, ...(options.gpuLayers !== undefined ? { gpuLayers: options.gpuLayers } : {}) });
    return instance;
  }

  get processId(): string {
    return this.process?.id ?? '';
  }

  get activeJobs(): number {
    return this.jobs.size;
  }

  get alive(): boolean {
    return !this.ended && !this.stopping;
  }

  /** Runs one job on its own sequence; waits for a free sequence first. */
  async generate(request: GenerationRequest, deadlineMs: number): Promise<GenerationResult> {
    const started = performance.now();
    const release = await this.slots.acquire(request.signal).catch(() => undefined);
    if (!release) return cancelled([], 0, performance.now() - started);
    try {
      if (request.signal?.aborted) return cancelled([], 0, performance.now() - started);
      await this.ready;
      return await this.run(request, started, deadlineMs);
    } finally {
      release();
    }
  }

  /** Runs one embed job on the engine's embedding context; waits for a free slot first, as a generation does. */
  async embed(request: EmbeddingRequest, deadlineMs: number): Promise<EmbeddingResult> {
    const release = await this.slots.acquire(request.signal).catch(() => undefined);
    request.signal?.throwIfAborted();
    if (!release) throw new EmbeddingStoppedError('the embed job was not started');
    try {
      request.signal?.throwIfAborted();
      await this.ready;
      if (this.ended || this.stopping) throw new EmbeddingStoppedError(`the engine for ${this.options.modelHostPath} is stopping`);
      return await this.runEmbed(request, deadlineMs);
    } finally {
      release();
    }
  }

  private runEmbed(request: EmbeddingRequest, deadlineMs: number): Promise<EmbeddingResult> {
    const id = randomUUID();
    const started = performance.now();
    return new Promise<EmbeddingResult>((resolve, reject) => {
      const cancel = (): void => this.send({ type: 'cancel', id });
      const timer = setTimeout(() => {
        cancel();
        settle(() => reject(new ContainerDeadlineError(this.processId, deadlineMs)));
      }, deadlineMs);
      const settle = (done: () => void): void => {
        if (!this.jobs.delete(id)) return;
        clearTimeout(timer);
        request.signal?.removeEventListener('abort', cancel);
        done();
      };
      const resolveEmbedding = (message: EngineEmbeddedMessage): void =>
        settle(() => {
          try {
            const vectors = message.vectors.map(decodeEmbeddingVector);
            if (vectors.length !== request.texts.length || vectors.some((vector) => vector.length !== message.dimensions)) throw new Error(`${vectors.length} vectors of ${message.dimensions} values for ${request.texts.length} texts`);
            resolve({ vectors, dimensions: message.dimensions, promptTokens: message.promptTokens, totalMs: performance.now() - started });
          } catch (error) {
            reject(new EngineProtocolError(this.options.modelHostPath, `the engine's vectors do not fit the job: ${(error as Error).message}`, error));
          }
        });
      this.jobs.set(id, { started, pieces: [], firstTokenMs: 0, onText: undefined, resolve: () => undefined, resolveEmbedding, reject: (error) => settle(() => reject(error)) });
      request.signal?.addEventListener('abort', cancel, { once: true });
      this.send({ type: 'embed', id, texts: [...request.texts], ...(request.maxValues !== undefined ? { maxValues: request.maxValues } : {}) });
      if (request.signal?.aborted) cancel();
    });
  }

  /** Kills the process; jobs still running end as cancelled. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (!this.process || this.ended) return;
    await this.process.kill();
    await this.process.ended;
  }

  private run(request: GenerationRequest, started: number, deadlineMs: number): Promise<GenerationResult> {
    if (this.ended || this.stopping) return Promise.resolve(cancelled([], 0, performance.now() - started));
    const id = randomUUID();
    return new Promise<GenerationResult>((resolve, reject) => {
      const cancel = (): void => this.send({ type: 'cancel', id });
      const timer = setTimeout(() => {
        cancel();
        settle(() => reject(new ContainerDeadlineError(this.processId, deadlineMs)));
      }, deadlineMs);
      const settle = (done: () => void): void => {
        if (!this.jobs.delete(id)) return;
        clearTimeout(timer);
        request.signal?.removeEventListener('abort', cancel);
        done();
      };
      this.jobs.set(id, { started, pieces: [], firstTokenMs: 0, onText: request.onText, resolve: (result) => settle(() => resolve(result)), reject: (error) => settle(() => reject(error)) });
      request.signal?.addEventListener('abort', cancel, { once: true });
      const message: EngineGenerateRequest = {
        type: 'generate',
        id,
        input: request.input,
        sampling: request.sampling,
        ...(request.fingerprintTopK !== undefined ? { fingerprintTopK: request.fingerprintTopK } : {}),
        ...(request.continueFrom ? { continueFrom: [...request.continueFrom] } : {}),
        ...(request.logprobsTopK !== undefined ? { logprobsTopK: request.logprobsTopK } : {}),
      };
      this.send(message);
      if (request.signal?.aborted) cancel();
    });
  }

  private send(request: EngineRequest): void {
    if (!this.ended) this.process?.writeLine(JSON.stringify(request));
  }

  private onLine(line: string): void {
    let message: EngineMessage;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      return;
    }
    const parsed = EngineMessage.safeParse(json);
    if (!parsed.success) {
      // A job's line the host cannot read fails that job now, rather than leave it waiting for its deadline.
      const id = (json as { id?: unknown } | null)?.id;
      const job = typeof id === 'string' ? this.jobs.get(id) : undefined;
      job?.reject(new EngineProtocolError(this.options.modelHostPath, parsed.error.issues[0]?.message ?? 'invalid message', parsed.error));
      return;
    }
    message = parsed.data;
    if (message.type === 'loaded') {
      this.placement = message;
      this.resolveReady(message);
      return;
    }
    if (message.type === 'error' && message.id === undefined) {
      this.loadError = this.workerError(message);
      return;
    }
    const job = this.jobs.get(message.id!);
    if (!job) return;
    if (message.type === 'embedded') {
      if (job.resolveEmbedding) job.resolveEmbedding(message);
      else job.reject(new EngineProtocolError(this.options.modelHostPath, 'vectors for a generation job'));
    } else if (job.resolveEmbedding && message.type !== 'error') {
      job.reject(new EngineProtocolError(this.options.modelHostPath, `a ${message.type} line for an embed job`));
    } else if (message.type === 'text') {
      if (!job.pieces.length) job.firstTokenMs = performance.now() - job.started;
      const piece = { text: message.text, tokenIds: message.tokenIds };
      job.pieces.push(piece);
      job.onText?.(piece);
    } else if (message.type === 'result') {
      // Timings as the host sees them: waiting for a sequence and for the load included.
      const { type: _type, id: _id, firstTokenMs: _first, totalMs: _total, reusedPromptTokens, ...result } = message;
      this.reusedPromptTokens = Math.max(this.reusedPromptTokens, reusedPromptTokens ?? 0);
      job.resolve({ ...result, firstTokenMs: job.firstTokenMs, totalMs: performance.now() - job.started });
    } else {
      job.reject(this.workerError(message));
    }
  }

  /** The worker's error as the in-process engine would have thrown it, with the host's model path. */
  private workerError(message: EngineErrorMessage): Error {
    const hostPath = this.options.modelHostPath;
    const processPath = this.process?.modelPath ?? hostPath;
    if (message.name === 'ModelLoadError') return new ModelLoadError(hostPath, message.message.replaceAll(processPath, hostPath));
    if (message.name === 'PromptTooLongError' && message.promptTokens !== undefined && message.contextSize !== undefined) return new PromptTooLongError(message.promptTokens, message.contextSize);
    if (message.name === 'InvalidGrammarError') return new InvalidGrammarError(message.message);
    return new EngineCrashedError(hostPath, this.processId, null, [], `failed the job: ${message.name}: ${message.message}`);
  }

  private onEnded(end: EngineProcessEnd): void {
    this.ended = true;
    const crash = this.stopping ? undefined : new EngineCrashedError(this.options.modelHostPath, this.processId, end.exitCode, end.stderrTail, end.reason);
    this.rejectReady(this.loadError ?? crash ?? new ModelLoadError(this.options.modelHostPath, `the engine for ${this.options.modelHostPath} was stopped before it loaded`));
    for (const job of [...this.jobs.values()]) {
      if (crash) job.reject(crash);
      else if (job.resolveEmbedding) job.reject(new EmbeddingStoppedError(`the engine for ${this.options.modelHostPath} stopped before the embed job finished`));
      else job.resolve(cancelled(job.pieces, job.firstTokenMs, performance.now() - job.started));
    }
    this.options.onEnd(crash);
  }
}

function cancelled(pieces: GeneratedPiece[], firstTokenMs: number, totalMs: number): GenerationResult {
  return { text: pieces.map((piece) => piece.text).join(''), tokenIds: pieces.flatMap((piece) => piece.tokenIds), finishReason: 'cancelled', promptTokens: 0, firstTokenMs, totalMs };
}
