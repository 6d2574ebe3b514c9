// The llama.cpp engine, run in a fresh sandboxed container per job: the same worker code as in-process, with no
// network, a read-only model, memory, CPU and process limits, and a deadline. Job code sees an InferenceEngine.
import { randomUUID } from 'node:crypto';
import Docker from 'dockerode';
import { ModelLoadError, NODE_LLAMA_CPP_VERSION, PromptTooLongError, type GeneratedPiece, type GenerationRequest, type GenerationResult, type InferenceEngine } from '../inference/index.js';
import { ContainerFailedError, RuntimeImageMissingError } from './container-errors.js';
import { hostModelPath } from './host-model-path.js';
import { CURRENT_EXECUTION_TEMPLATE_VERSION, llamaCppContainerModelPath, llamaCppContainerSpec, type ContainerLimits, type ExecutionTemplateVersion } from './execution-templates.js';
import type { JobSlots } from './job-slots.js';
import { runSandboxedContainer } from './run-sandboxed-container.js';
import { MAX_WORKER_LINE_BYTES, WORKER_PROTOCOL_VERSION, WorkerMessage, type WorkerErrorMessage, type WorkerRequest, type WorkerResultMessage } from './worker-protocol.js';

export const DEFAULT_CONTAINER_LIMITS: Omit<ContainerLimits, 'cpus'> = {
  memoryBytes: 4 * 2 ** 30,
  pids: 256,
  tmpfsBytes: 64 * 2 ** 20,
};
export const DEFAULT_CONTAINER_DEADLINE_MS = 10 * 60_000;

export interface ContainerEngineOptions {
  /** Defaults to the engine DOCKER_HOST names, else /var/run/docker.sock. */
  docker?: Docker;
  /** The runtime image, e.g. the tag scripts/build-runtime-image.sh prints. */
  image: string;
  /** This daemon's node id, labelled on every container so that reapOrphanContainers finds them after a crash. */
  nodeId: string;
  /** Decoding threads per job. */
  threads: number;
  contextSize: number;
  /** Defaults to DEFAULT_CONTAINER_LIMITS, with as many CPUs as decoding threads. */
  limits?: Partial<ContainerLimits>;
  /** Longest a job's container may run, start to exit; a request may ask for less. */
  deadlineMs?: number;
  /** Shared with whatever else the provider runs, so that all its jobs together stay within its slots. */
  slots?: JobSlots;
  templateVersion?: ExecutionTemplateVersion;
}

export interface ContainerGenerationRequest extends GenerationRequest {
  /** Labelled on the container; a random id when absent. */
  jobId?: string;
  /** Tighter than the engine's deadline, e.g. what is left of the client's. */
  deadlineMs?: number;
}

export class ContainerEngine implements InferenceEngine {
  readonly id = `llama.cpp/node-llama-cpp@${NODE_LLAMA_CPP_VERSION}+docker`;
  private readonly docker: Docker;
  private readonly limits: ContainerLimits;
  private readonly templateVersion: ExecutionTemplateVersion;
  private readonly running = new Map<AbortController, Promise<GenerationResult>>();

  constructor(private readonly options: ContainerEngineOptions) {
    this.docker = options.docker ?? new Docker();
    this.limits = { ...DEFAULT_CONTAINER_LIMITS, cpus: options.threads, ...options.limits };
    this.templateVersion = options.templateVersion ?? CURRENT_EXECUTION_TEMPLATE_VERSION;
  }

  /** Each job loads its model in its own container, so there is nothing to keep loaded: this checks that a job could start. */
  async preload(modelPath: string): Promise<void> {
    await hostModelPath(modelPath);
    await this.docker
      .getImage(this.options.image)
      .inspect()
      .catch((error: unknown) => {
        throw new RuntimeImageMissingError(this.options.image, { cause: error });
      });
  }

  async generate(request: ContainerGenerationRequest): Promise<GenerationResult> {
    const modelHostPath = await hostModelPath(request.modelPath);
    const cancel = new AbortController();
    const onAbort = (): void => cancel.abort(request.signal?.reason);
    if (request.signal?.aborted) onAbort();
    request.signal?.addEventListener('abort', onAbort, { once: true });
    const job = this.runInSlot(request, modelHostPath, cancel.signal);
    this.running.set(cancel, job);
    try {
      return await job;
    } finally {
      request.signal?.removeEventListener('abort', onAbort);
      this.running.delete(cancel);
    }
  }

  /** Kills the containers of jobs still running and waits until they are removed; those jobs end as cancelled. */
  async close(): Promise<void> {
    for (const cancel of this.running.keys()) cancel.abort();
    await Promise.allSettled(this.running.values());
  }

  private async runInSlot(request: ContainerGenerationRequest, modelHostPath: string, signal: AbortSignal): Promise<GenerationResult> {
    // A job cancelled while it waits for a slot never starts a container.
    const release = await this.options.slots?.acquire(signal).catch(() => undefined);
    try {
      if (signal.aborted) return cancelledResult();
      return await this.runJob(request, modelHostPath, signal);
    } finally {
      release?.();
    }
  }

  private async runJob(request: ContainerGenerationRequest, modelHostPath: string, signal: AbortSignal): Promise<GenerationResult> {
    const started = performance.now();
    const spec = llamaCppContainerSpec({
      version: this.templateVersion,
      image: this.options.image,
      owner: { jobId: request.jobId ?? randomUUID(), nodeId: this.options.nodeId },
      modelHostPath,
      limits: this.limits,
    });
    const workerRequest: WorkerRequest = {
      v: WORKER_PROTOCOL_VERSION,
      modelPath: llamaCppContainerModelPath(this.templateVersion),
      input: request.input,
      sampling: request.sampling,
      threads: this.options.threads,
      contextSize: this.options.contextSize,
      ...(request.logprobsTopK !== undefined ? { logprobsTopK: request.logprobsTopK } : {}),
    };
    const pieces: GeneratedPiece[] = [];
    let firstTokenMs = 0;
    let outcome: WorkerResultMessage | WorkerErrorMessage | undefined;
    const exit = await runSandboxedContainer({
      docker: this.docker,
      spec,
      stdin: JSON.stringify(workerRequest),
      deadlineMs: Math.min(request.deadlineMs ?? Infinity, this.options.deadlineMs ?? DEFAULT_CONTAINER_DEADLINE_MS),
      signal,
      maxLineBytes: MAX_WORKER_LINE_BYTES,
      onStdoutLine: (line) => {
        const message = parseWorkerLine(line);
        if (!message || outcome) return;
        if (message.type !== 'text') {
          outcome = message;
          return;
        }
        if (!pieces.length) firstTokenMs = performance.now() - started;
        const piece = { text: message.text, tokenIds: message.tokenIds };
        pieces.push(piece);
        request.onText?.(piece);
      },
    });
    const totalMs = performance.now() - started;
    if (exit.cancelled) return cancelledResult(pieces, firstTokenMs, totalMs);
    if (outcome?.type === 'result') {
      // Timings as the host sees them: container start, model load and all.
      return { text: outcome.text, tokenIds: outcome.tokenIds, finishReason: outcome.finishReason, promptTokens: outcome.promptTokens, firstTokenMs, totalMs, ...(outcome.tokenLogprobs ? { tokenLogprobs: outcome.tokenLogprobs } : {}) };
    }
    if (outcome?.type === 'error') throw workerError(outcome, request.modelPath, workerRequest.modelPath, exit.containerId, exit.stderrTail);
    throw new ContainerFailedError(exit.containerId, exit.exitCode, exit.stderrTail, `the job's container exited with code ${exit.exitCode} without a result`);
  }
}

function parseWorkerLine(line: string): WorkerMessage | undefined {
  try {
    const parsed = WorkerMessage.safeParse(JSON.parse(line));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** The worker's error as the in-process engine would have thrown it, with the host's model path. */
function workerError(message: WorkerErrorMessage, hostPath: string, containerPath: string, containerId: string, stderrTail: string[]): Error {
  if (message.name === 'ModelLoadError') return new ModelLoadError(hostPath, message.message.replaceAll(containerPath, hostPath));
  if (message.name === 'PromptTooLongError' && message.promptTokens !== undefined && message.contextSize !== undefined) {
    return new PromptTooLongError(message.promptTokens, message.contextSize);
  }
  return new ContainerFailedError(containerId, null, stderrTail, `the job failed in its container: ${message.name}: ${message.message}`);
}

function cancelledResult(pieces: GeneratedPiece[] = [], firstTokenMs = 0, totalMs = 0): GenerationResult {
  return {
    text: pieces.map((piece) => piece.text).join(''),
    tokenIds: pieces.flatMap((piece) => piece.tokenIds),
    finishReason: 'cancelled',
    promptTokens: 0,
    firstTokenMs,
    totalMs,
  };
}
