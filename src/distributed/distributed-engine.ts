// A model split across other providers' GPUs (or CPUs) behind the ordinary engine interface: the head opens a
// stage on each worker it may use, plans the split over what they offer, and runs llama-server with --rpc
// pointed at the local ends of the stages' tunnels. When a stage dies mid-generation the head aborts; the job
// then fails over: the stages still standing are planned again without the dead one and a new head resumes by
// replaying the prompt plus the tokens already streamed, so the client sees one stream.
// Warm heads: after a job the head and its stages stay loaded (keepWarmMs) and the next job of the same model
// runs on them with no stage, head or weight upload. They are closed when idle that long, when the engine
// closes, when another model comes, or before a job when the head or a stage died (the next job then loads a
// new set, which stays warm in turn). Stage limits: rather than renew a stage in place, the head closes a warm
// set between jobs when a stage has too little time or byte budget left for one more job (warm-stage-renewal.ts)
// and opens a new one, so a provider's limits never end a stage mid-job because of warmth. State does not leak
// between jobs: each completion is sent with cache_prompt off to a one-slot server, so it starts from an empty
// KV cache, and jobs still take turns on the head.
import { randomUUID } from 'node:crypto';
import type { NodeKey } from '../identity/index.js';
import type { GeneratedPiece, GenerationRequest, InferenceEngine } from '../inference/index.js';
import { ModelLoadError } from '../inference/index.js';
import type { Logger } from '../log/index.js';
import { describeModelFile, type ModelDescriptor } from '../models/index.js';
import type { InterNodeLink } from '../planner/index.js';
import { continueGeneration, emptyProgress, promptTokensOf, resultOf, type GenerationProgress, type HeadGenerationResult } from './head-generation.js';
import { LLAMA_RPC_ENGINE_ID, locateLlamaRpcBinaries } from './llama-rpc-binaries.js';
import { HeadFailedError, LlamaServerHead } from './llama-server-head.js';
import { planStageSplit, type RequestedSplit, type StageSplit } from './plan-stage-split.js';
import { StageConnection, type StageEndpoint } from './stage-connection.js';
import { stageRenewalReason, type JobHistory } from './warm-stage-renewal.js';
import { InfernetError } from '../errors/index.js';

/** Heads started for one job, failovers included: each failure removes a stage, so this also bounds the loop. */
export const MAX_HEAD_ATTEMPTS = 4;
/** After a head fails, how long stage failures may take to arrive (a killed provider's socket closing). */
const FAILURE_SETTLE_MS = 1_500;

/** Where a head finds stages when none are listed: providers that offer them now, best first. */
export type StageFinder = (need: { limit: number }) => Promise<StageEndpoint[]>;
export const DISCOVERED_STAGES_PER_JOB = 2;
/** Found beyond what a job uses, so a stage that refuses or dies has a replacement at hand. */
const DISCOVERED_SPARE_STAGES = 2;

export class NoStageAvailableError extends InfernetError {
  override readonly name = 'NoStageAvailableError';
  constructor(
    message: string,
    readonly failures: readonly string[],
  ) {
    super('no_provider', failures.length ? `${message}: ${failures.join('; ')}` : message);
  }
}

/** How long a head and its stages stay loaded after a job when the config does not say: the next job skips the load. */
export const DEFAULT_KEEP_WARM_MS = 5 * 60_000;

export interface DistributedEngineOptions {
  key: NodeKey;
  /**
   * Providers that run stages for this head, in preferred pipeline order; those beyond `stagesPerJob` are spares.
   * Or a finder asked for each new head (discovery), when the operator lists none.
   */
  workers: readonly StageEndpoint[] | StageFinder;
  /** Stages a job uses; all listed workers when absent, or DISCOVERED_STAGES_PER_JOB found ones. */
  stagesPerJob?: number;
  split: RequestedSplit;
  threads: number;
  contextSize: number;
  /** Threads each stage's worker decodes with. */
  workerThreads?: number;
  links?: readonly InterNodeLink[];
  binDir?: string;
  logger: Logger;
  /**
   * How long the head and its stages stay loaded after a job, for the next job of the same model; 0 closes them
   * after every job. DEFAULT_KEEP_WARM_MS when absent.
   */
  keepWarmMs?: number;
  /** The content id of a model file, named to the stages so that providers holding it pre-fill their tensor cache. */
  modelCidOf?: (modelPath: string) => Promise<string | undefined>;
  /** Told each head's plan, for logs and tests. */
  onPlan?: (plan: DistributedAttempt) => void;
  /** Told after each job how it ran: on a warm head or not, and what crossed the tunnels. */
  onJob?: (report: DistributedJobReport) => void;
}

export interface DistributedAttempt {
  jobId: string;
  attempt: number;
  stages: StageEndpoint[];
  split: StageSplit;
  /** Tokens already streamed that this head replays. */
  resumedAfterTokens: number;
}

export interface DistributedJobReport {
  jobId: string;
  /** The job ran on the head and stages an earlier job left loaded. */
  warm: boolean;
  /** Heads started for this job (0 on a warm head without failover). */
  headsStarted: number;
  /** Bytes through the tunnels of the stages that finished the job, from its start (weights included when loaded). */
  tunnelBytes: number;
  /** Of those, the bytes before its first token arrived: weights, when a head had to load them, and the prompt. */
  tunnelBytesToFirstToken: number;
  /** Each final stage: its provider, its id there, and what its provider pre-filled from a held model. */
  stages: { url: string; stageId: string; prefilled?: { tensors: number; bytes: number } }[];
}

/** A loaded head and its stages, kept between jobs of one model. */
interface WarmHead {
  modelPath: string;
  head: LlamaServerHead;
  stages: StageConnection[];
  history: JobHistory;
  idleTimer?: NodeJS.Timeout;
}

export class DistributedEngine implements InferenceEngine {
  readonly id = `${LLAMA_RPC_ENGINE_ID}+rpc`;
  private readonly descriptors = new Map<string, Promise<ModelDescriptor>>();
  private queue: Promise<unknown> = Promise.resolve();
  private warm?: WarmHead;
  /** A warm head being closed: its stages must be gone before new ones are opened on the same providers. */
  private closing: Promise<void> = Promise.resolve();

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
    await this.closeWarm('the engine is closing');
  }

  /** The head and stages kept loaded now, for tests and status. */
  warmHead(): { modelPath: string; headPid: number | undefined; stages: { url: string; stageId: string }[] } | undefined {
    const warm = this.warm;
    return warm && { modelPath: warm.modelPath, headPid: warm.head.pid, stages: warm.stages.map((s) => ({ url: s.endpoint.url, stageId: s.jobId })) };
  }

  private get keepWarmMs(): number {
    return this.options.keepWarmMs ?? DEFAULT_KEEP_WARM_MS;
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
    let headsStarted = 0;
    for (let attempt = 1; attempt <= MAX_HEAD_ATTEMPTS; attempt++) {
      const warm = await this.takeWarm(request.modelPath, log);
      // Each head's stages get their own id: the stages of a failed head may still be ending on their providers.
      const stages = warm?.stages ?? (await this.openStages(attempt === 1 ? jobId : `${jobId}/${attempt}`, request.modelPath, excluded, failures, log));
      const bytesBefore = stages.map((stage) => stage.bytesMoved);
      const tokensBefore = progress.tokenIds.length;
      let head = warm?.head;
      let kept = false;
      try {
        if (!head) {
          const split = planStageSplit({ model, head: this.options.key.publicKey, stages: stages.map((s) => ({ id: s.endpoint.pubkey, memoryBytes: s.memoryBytes })), requested: this.options.split, ...(this.options.links ? { links: this.options.links } : {}) });
          this.options.onPlan?.({ jobId, attempt, stages: stages.map((s) => s.endpoint), split, resumedAfterTokens: progress.tokenIds.length });
          log.info({ attempt, stages: stages.map((s) => s.endpoint.url), splitMode: split.splitMode, tensorSplit: split.tensorSplit, resumedAfterTokens: progress.tokenIds.length }, split.explanation);
          headsStarted++;
          head = await LlamaServerHead.start({ llamaServer, modelPath: request.modelPath, threads: this.options.threads, contextSize: this.options.contextSize, rpc: stages.map((s) => s.rpcAddress), splitMode: split.splitMode, tensorSplit: split.tensorSplit });
        }
        prompt ??= await promptTokensOf(head, request.input);
        const generationStarted = performance.now();
        const bytesAtGeneration = stages.map((stage) => stage.bytesMoved);
        let bytesToFirstToken: number | undefined;
        const onText = (piece: GeneratedPiece) => {
          bytesToFirstToken ??= stages.reduce((sum, stage, i) => sum + stage.bytesMoved - bytesBefore[i]!, 0);
          request.onText?.(piece);
        };
        const end = await continueGeneration(head, { ...request, onText }, prompt, progress, started);
        const history = warm?.history ?? { longestJobMs: 0, largestJobBytes: 0 };
        history.longestJobMs = Math.max(history.longestJobMs, performance.now() - generationStarted);
        history.largestJobBytes = Math.max(history.largestJobBytes, ...stages.map((stage, i) => stage.bytesMoved - bytesAtGeneration[i]!));
        this.options.onJob?.({
          jobId,
          warm: headsStarted === 0,
          headsStarted,
          tunnelBytes: stages.reduce((sum, stage, i) => sum + stage.bytesMoved - bytesBefore[i]!, 0),
          tunnelBytesToFirstToken: bytesToFirstToken ?? 0,
          stages: stages.map((s) => ({ url: s.endpoint.url, stageId: s.jobId, ...(s.ready.prefilled ? { prefilled: s.ready.prefilled } : {}) })),
        });
        // A cancelled completion may still be winding down in the head: start the next job on a clean one.
        if (end !== 'cancelled' && this.keepWarmMs > 0) kept = this.keepWarm({ modelPath: request.modelPath, head, stages, history });
        return resultOf(end, progress, prompt.length, started, request.fingerprintTopK);
      } catch (error) {
        const dead = await this.deadStages(stages);
        if (!(error instanceof HeadFailedError) && !dead.length && !isEngineStartFailure(error)) throw error;
        failures.push(dead.length ? dead.map((s) => `${s.endpoint.url}: ${s.failure}`).join('; ') : `head failed: ${(error as Error).message.split('\n')[0]}`);
        // A warm head that fails before its first token most likely lost a worker while it sat idle between jobs;
        // the provider restarted it, so the job loads a new set there too. Mid-job (or a stage gone), the provider
        // is passed over as before.
        const diedWhileIdle = (stage: StageConnection) => warm !== undefined && stage.workerRestarted && progress.tokenIds.length === tokensBefore;
        for (const stage of dead) if (!diedWhileIdle(stage)) excluded.add(stage.endpoint.url);
        log.warn({ attempt, warm: Boolean(warm), dead: dead.map((s) => s.endpoint.url), tokens: progress.tokenIds.length, err: (error as Error).message.split('\n')[0] }, 'distributed generation failed; failing over');
        if (request.signal?.aborted) return resultOf('cancelled', progress, prompt?.length ?? 0, started);
      } finally {
        if (!kept) await closeHead(head, stages);
      }
    }
    throw new NoStageAvailableError(`job ${jobId} failed after ${MAX_HEAD_ATTEMPTS} heads`, failures);
  }

  /** The warm head when the next job of `modelPath` can run on it; otherwise it is closed here (and awaited). */
  private async takeWarm(modelPath: string, log: Logger): Promise<WarmHead | undefined> {
    await this.closing;
    const warm = this.warm;
    if (!warm) return undefined;
    clearTimeout(warm.idleTimer);
    this.warm = undefined;
    const reason = warmHeadUnusableReason(warm, modelPath);
    if (!reason) return warm;
    log.info({ reason }, 'the warm head cannot take this job: closing it and loading again');
    await closeHead(warm.head, warm.stages);
    return undefined;
  }

  private keepWarm(warm: WarmHead): boolean {
    this.warm = warm;
    warm.idleTimer = setTimeout(() => void this.closeWarm(`idle for ${this.keepWarmMs} ms`), this.keepWarmMs);
    warm.idleTimer.unref();
    return true;
  }

  private closeWarm(reason: string): Promise<void> {
    const warm = this.warm;
    if (!warm) return this.closing;
    this.warm = undefined;
    clearTimeout(warm.idleTimer);
    this.options.logger.info({ reason, modelPath: warm.modelPath }, 'closing the warm head and its stages');
    this.closing = this.closing.then(() => closeHead(warm.head, warm.stages));
    return this.closing;
  }

  /** Opens a stage on each usable worker, in order, until the job has as many as it wants. */
  private async openStages(stageId: string, modelPath: string, excluded: Set<string>, failures: string[], log: Logger): Promise<StageConnection[]> {
    const workers = await this.workersFor(failures);
    const wanted = this.options.stagesPerJob ?? (typeof this.options.workers === 'function' ? DISCOVERED_STAGES_PER_JOB : workers.length);
    const modelCid = await this.options.modelCidOf?.(modelPath).catch(() => undefined);
    const stages: StageConnection[] = [];
    for (const endpoint of workers) {
      if (stages.length >= wanted) break;
      if (excluded.has(endpoint.url)) continue;
      try {
        stages.push(await StageConnection.open({ endpoint, key: this.options.key, jobId: stageId, ...(this.options.workerThreads ? { threads: this.options.workerThreads } : {}), ...(modelCid ? { modelCid } : {}) }));
      } catch (error) {
        excluded.add(endpoint.url);
        failures.push(`${endpoint.url}: ${(error as Error).message}`);
        log.warn({ worker: endpoint.url, err: (error as Error).message }, 'cannot open a stage');
      }
    }
    if (!stages.length) throw new NoStageAvailableError(`no worker can take job ${stageId}`, failures);
    return stages;
  }

  /** The listed workers, or those a finder returns now (providers come and go), spares included. */
  private async workersFor(failures: string[]): Promise<readonly StageEndpoint[]> {
    const { workers } = this.options;
    if (typeof workers !== 'function') return workers;
    try {
      return await workers({ limit: (this.options.stagesPerJob ?? DISCOVERED_STAGES_PER_JOB) + DISCOVERED_SPARE_STAGES });
    } catch (error) {
      failures.push(`finding stage providers: ${(error as Error).message}`);
      return [];
    }
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

/** Why a warm head cannot take the next job: another model, a dead head or stage, or a stage near its limits. */
function warmHeadUnusableReason(warm: WarmHead, modelPath: string): string | undefined {
  if (warm.modelPath !== modelPath) return `it holds ${warm.modelPath}`;
  if (warm.head.hasExited()) return 'the head exited';
  const dead = warm.stages.find((stage) => !stage.isHealthy);
  if (dead) return `the stage at ${dead.endpoint.url} failed: ${dead.failure}`;
  const now = Date.now();
  return stageRenewalReason(
    warm.stages.map((stage) => ({ stage: `${stage.jobId}@${stage.endpoint.url}`, ageMs: now - stage.openedAt, bytesMoved: stage.bytesMoved, ...(stage.ready.maxStageMs ? { maxStageMs: stage.ready.maxStageMs } : {}), ...(stage.ready.maxStageBytes ? { maxStageBytes: stage.ready.maxStageBytes } : {}) })),
    warm.history,
  );
}

async function closeHead(head: LlamaServerHead | undefined, stages: readonly StageConnection[]): Promise<void> {
  await head?.stop();
  await Promise.all(stages.map((stage) => stage.close()));
}

function isEngineStartFailure(error: unknown): boolean {
  return error instanceof Error && error.name === 'EngineProcessError';
}

export type { GenerationProgress };
