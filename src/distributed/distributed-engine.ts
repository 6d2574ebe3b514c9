// A model split across other providers' GPUs (or CPUs) behind the ordinary engine interface: for each job the
// head opens a stage on each worker it may use, plans the split over what they offer, and runs llama-server
// with --rpc pointed at the local ends of the stages' tunnels. When a stage dies mid-generation the head
// aborts; the job then fails over: the stages still standing are planned again without the dead one and a new
// head resumes by replaying the prompt plus the tokens already streamed, so the client sees one stream.
import { randomUUID } from 'node:crypto';
import type { NodeKey } from '../identity/index.js';
import type { GenerationRequest, InferenceEngine } from '../inference/index.js';
import { ModelLoadError } from '../inference/index.js';
import type { Logger } from '../log/index.js';
import { describeModelFile, type ModelDescriptor } from '../models/index.js';
import type { InterNodeLink } from '../planner/index.js';
import { continueGeneration, emptyProgress, promptTokensOf, resultOf, type GenerationProgress, type HeadGenerationResult } from './head-generation.js';
import { LLAMA_RPC_ENGINE_ID, locateLlamaRpcBinaries } from './llama-rpc-binaries.js';
import { HeadFailedError, LlamaServerHead } from './llama-server-head.js';
import { planStageSplit, type RequestedSplit, type StageSplit } from './plan-stage-split.js';
import { StageConnection, type StageEndpoint } from './stage-connection.js';

/** Heads started for one job, failovers included: each failure removes a stage, so this also bounds the loop. */
export const MAX_HEAD_ATTEMPTS = 4;
/** After a head fails, how long stage failures may take to arrive (a killed provider's socket closing). */
const FAILURE_SETTLE_MS = 1_500;

export class NoStageAvailableError extends Error {
  override readonly name = 'NoStageAvailableError';
  constructor(
    message: string,
    readonly failures: readonly string[],
  ) {
    super(failures.length ? `${message}: ${failures.join('; ')}` : message);
  }
}

export interface DistributedEngineOptions {
  key: NodeKey;
  /** Providers that run stages for this head, in preferred pipeline order; those beyond `stagesPerJob` are spares. */
  workers: readonly StageEndpoint[];
  /** Stages a job uses; all workers when absent. */
  stagesPerJob?: number;
  split: RequestedSplit;
  threads: number;
  contextSize: number;
  /** Threads each stage's worker decodes with. */
  workerThreads?: number;
  links?: readonly InterNodeLink[];
  binDir?: string;
  logger: Logger;
  /** Told each head's plan, for logs and tests. */
  onPlan?: (plan: DistributedAttempt) => void;
}

export interface DistributedAttempt {
  jobId: string;
  attempt: number;
  stages: StageEndpoint[];
  split: StageSplit;
  /** Tokens already streamed that this head replays. */
  resumedAfterTokens: number;
}

export class DistributedEngine implements InferenceEngine {
  readonly id = `${LLAMA_RPC_ENGINE_ID}+rpc`;
  private readonly descriptors = new Map<string, Promise<ModelDescriptor>>();
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: DistributedEngineOptions) {}

  async preload(modelPath: string): Promise<void> {
    locateLlamaRpcBinaries(this.options.binDir);
    await this.describe(modelPath);
  }

  /** A worker serves one head at a time: this head's jobs take turns. */
  generate(request: GenerationRequest): Promise<HeadGenerationResult> {
    const run = this.queue.catch(() => undefined).then(() => this.run(request));
    this.queue = run;
    return run;
  }

  async close(): Promise<void> {
    await this.queue.catch(() => undefined);
  }

  private async run(request: GenerationRequest): Promise<HeadGenerationResult> {
    const started = performance.now();
    const jobId = request.jobId ?? randomUUID();
    const log = this.options.logger.child({ jobId, engine: 'distributed' });
    const model = await this.describe(request.modelPath);
    const { llamaServer } = locateLlamaRpcBinaries(this.options.binDir);
    const progress = emptyProgress();
    const excluded = new Set<string>();
    const failures: string[] = [];
    let prompt: number[] | undefined;
    for (let attempt = 1; attempt <= MAX_HEAD_ATTEMPTS; attempt++) {
      // Each head's stages get their own id: the stages of a failed head may still be ending on their providers.
      const stages = await this.openStages(attempt === 1 ? jobId : `${jobId}/${attempt}`, excluded, failures, log);
      let head: LlamaServerHead | undefined;
      try {
        const split = planStageSplit({ model, head: this.options.key.publicKey, stages: stages.map((s) => ({ id: s.endpoint.pubkey, memoryBytes: s.memoryBytes })), requested: this.options.split, ...(this.options.links ? { links: this.options.links } : {}) });
        this.options.onPlan?.({ jobId, attempt, stages: stages.map((s) => s.endpoint), split, resumedAfterTokens: progress.tokenIds.length });
        log.info({ attempt, stages: stages.map((s) => s.endpoint.url), splitMode: split.splitMode, tensorSplit: split.tensorSplit, resumedAfterTokens: progress.tokenIds.length }, split.explanation);
        head = await LlamaServerHead.start({ llamaServer, modelPath: request.modelPath, threads: this.options.threads, contextSize: this.options.contextSize, rpc: stages.map((s) => s.rpcAddress), splitMode: split.splitMode, tensorSplit: split.tensorSplit });
        prompt ??= await promptTokensOf(head, request.input);
        const end = await continueGeneration(head, request, prompt, progress, started);
        return resultOf(end, progress, prompt.length, started, request.fingerprintTopK);
      } catch (error) {
        const dead = await this.deadStages(stages);
        if (!(error instanceof HeadFailedError) && !dead.length && !isEngineStartFailure(error)) throw error;
        failures.push(dead.length ? dead.map((s) => `${s.endpoint.url}: ${s.failure}`).join('; ') : `head failed: ${(error as Error).message.split('\n')[0]}`);
        for (const stage of dead) excluded.add(stage.endpoint.url);
        log.warn({ attempt, dead: dead.map((s) => s.endpoint.url), tokens: progress.tokenIds.length, err: (error as Error).message.split('\n')[0] }, 'distributed generation failed; failing over');
        if (request.signal?.aborted) return resultOf('cancelled', progress, prompt?.length ?? 0, started);
      } finally {
        await head?.stop();
        await Promise.all(stages.map((stage) => stage.close()));
      }
    }
    throw new NoStageAvailableError(`job ${jobId} failed after ${MAX_HEAD_ATTEMPTS} heads`, failures);
  }

  /** Opens a stage on each usable worker, in order, until the job has as many as it wants. */
  private async openStages(jobId: string, excluded: Set<string>, failures: string[], log: Logger): Promise<StageConnection[]> {
    const wanted = this.options.stagesPerJob ?? this.options.workers.length;
    const stages: StageConnection[] = [];
    for (const endpoint of this.options.workers) {
      if (stages.length >= wanted) break;
      if (excluded.has(endpoint.url)) continue;
      try {
        stages.push(await StageConnection.open({ endpoint, key: this.options.key, jobId, ...(this.options.workerThreads ? { threads: this.options.workerThreads } : {}) }));
      } catch (error) {
        excluded.add(endpoint.url);
        failures.push(`${endpoint.url}: ${(error as Error).message}`);
        log.warn({ worker: endpoint.url, err: (error as Error).message }, 'cannot open a stage');
      }
    }
    if (!stages.length) throw new NoStageAvailableError(`no worker can take job ${jobId}`, failures);
    return stages;
  }

  private async deadStages(stages: readonly StageConnection[]): Promise<StageConnection[]> {
    const deadline = Date.now() + FAILURE_SETTLE_MS;
    while (!stages.some((stage) => !stage.isHealthy) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 25));
    return stages.filter((stage) => !stage.isHealthy);
  }

  private describe(modelPath: string): Promise<ModelDescriptor> {
    let descriptor = this.descriptors.get(modelPath);
    if (!descriptor) {
      descriptor = describeModelFile(modelPath).catch((cause: unknown) => {
        this.descriptors.delete(modelPath);
        throw new ModelLoadError(modelPath, `cannot read ${modelPath}: ${(cause as Error).message}`, { cause });
      });
      this.descriptors.set(modelPath, descriptor);
    }
    return descriptor;
  }
}

function isEngineStartFailure(error: unknown): boolean {
  return error instanceof Error && error.name === 'EngineProcessError';
}

export type { GenerationProgress };
