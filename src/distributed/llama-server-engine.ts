// llama.cpp's own server as an engine beside the in-process one: one supervised llama-server per model, kept
// loaded, jobs streamed over its HTTP API. The distributed engine runs the same head with RPC stages.
import { stat } from 'node:fs/promises';
import { ModelLoadError, type GenerationRequest, type InferenceEngine } from '../inference/index.js';
import { continueGeneration, emptyProgress, promptTokensOf, resultOf, type HeadGenerationResult } from './head-generation.js';
import { LLAMA_RPC_ENGINE_ID, locateLlamaRpcBinaries } from './llama-rpc-binaries.js';
import { LlamaServerHead } from './llama-server-head.js';

export interface LlamaServerEngineOptions {
  threads: number;
  contextSize: number;
  /** The build's bin directory; the CPU build from scripts/build-llama-rpc.sh when absent. */
  binDir?: string;
}

export class LlamaServerEngine implements InferenceEngine {
  readonly id = LLAMA_RPC_ENGINE_ID;
  private readonly heads = new Map<string, Promise<LlamaServerHead>>();
  /** llama-server runs one sequence here (-np 1): jobs on a model take turns. */
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(private readonly options: LlamaServerEngineOptions) {}

  async preload(modelPath: string): Promise<void> {
    await this.head(modelPath);
  }

  generate(request: GenerationRequest): Promise<HeadGenerationResult> {
    const previous = this.queues.get(request.modelPath) ?? Promise.resolve();
    const run = previous.catch(() => undefined).then(() => this.run(request));
    this.queues.set(request.modelPath, run);
    return run;
  }

  async close(): Promise<void> {
    for (const head of this.heads.values()) await (await head.catch(() => undefined))?.stop();
    this.heads.clear();
  }

  private async run(request: GenerationRequest): Promise<HeadGenerationResult> {
    const started = performance.now();
    let head = await this.head(request.modelPath);
    // A head that died since the last job (killed, out of memory) is started again rather than failing every job.
    if (head.hasExited()) {
      this.heads.delete(request.modelPath);
      head = await this.head(request.modelPath);
    }
    const prompt = await promptTokensOf(head, request.input);
    const progress = emptyProgress();
    const end = await continueGeneration(head, request, prompt, progress, started);
    return resultOf(end, progress, prompt.length, started, request.fingerprintTopK);
  }

  private head(modelPath: string): Promise<LlamaServerHead> {
    let head = this.heads.get(modelPath);
    if (!head) {
      head = this.startHead(modelPath);
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
      return await LlamaServerHead.start({ llamaServer, modelPath, threads: this.options.threads, contextSize: this.options.contextSize });
    } catch (cause) {
      throw new ModelLoadError(modelPath, `llama-server cannot load ${modelPath}: ${(cause as Error).message}`, { cause });
    }
  }
}
