// vLLM behind the engine interface: one supervised vLLM OpenAI server per model (vllm-server.ts), each job a streamed
// /v1/completions request (vllm-client.ts). Every prompt goes as token ids: a text is tokenized, and a chat rendered
// through the model's own template, by the server's /tokenize (as its /v1/completions and /v1/chat/completions would),
// so the job counts its prompt exactly, a continuation appends the earlier tokens to the same ids, and one request
// shape (the completions API's logprobs, with token ids) serves plain jobs, chats, fingerprints and logprobs alike.
import { basename } from 'node:path';
import { InfernetError } from '../../errors/index.js';
import type { TokenFingerprint, TokenLogprob } from '../../protocol/index.js';
import { PromptTooLongError, type GenerationRequest, type GenerationResult, type InferenceEngine } from '../inference-engine.js';
import { StopSequenceScanner } from '../stop-sequences.js';
import { completionBodyOf, detokenize, streamCompletion, tokenizeInput, type VllmChunk } from './vllm-client.js';
import { VllmDeadlineError, VllmRequestError, VllmServerCrashedError, VllmUnsupportedJobError } from './vllm-errors.js';
import { howItEnded, VllmServer, type LaunchVllmProcess, type VllmProcess, type VllmServerEvent, type VllmServerStatus } from './vllm-server.js';

/** The protocol's bound on a fingerprint's alternatives (TokenFingerprint.top). */
const MAX_FINGERPRINT_TOP = 16;
/** /detokenize requests in flight at once while a job's logprob texts are looked up. */
const DETOKENIZE_CONCURRENCY = 8;
/** How long a failed stream waits for the server's exit to show, to tell a crash from a refused request. */
const CRASH_SETTLE_MS = 500;

export interface VllmEngineOptions {
  launch: LaunchVllmProcess;
  /** After `vllm@<version>` in the engine's id: where it runs (`+docker`), so results of the same setup compare. */
  idSuffix?: string;
  readyTimeoutMs?: number;
  restartDelayMs?: number;
  restartMaxDelayMs?: number;
  maxDeaths?: number;
  onEvent?: (event: VllmServerEvent) => void;
}

export interface VllmEngineStatus extends VllmServerStatus {
  activeJobs: number;
}

interface TokenRecord {
  token: number;
  logprob: number;
  top: [number, number][];
}

export class VllmEngine implements InferenceEngine {
  /**
   * Exact for what a continuation can hold here: the prompt's ids followed by the earlier ids are the context an
   * uninterrupted run had, and a stop sequence straddling the failover is found (the earlier text is scanned first).
   * Penalties and output formats would not be (vLLM counts penalties over its own output only, and starts a grammar
   * at the first new token): such continuations fail with VllmUnsupportedJobError.
   */
  readonly continuesGenerations = true;
  private readonly servers = new Map<string, VllmServer>();
  private readonly activeJobs = new Map<string, number>();
  /** Each token's text as /detokenize gives it alone, per served model: the vocabulary does not change. */
  private readonly tokenTexts = new Map<string, Map<number, string>>();

  constructor(private readonly options: VllmEngineOptions) {}

  /**
   * Recorded in signed results: vLLM's version as its server reports it (GET /version), known once a server was ready
   * (the daemon preloads its models before it takes jobs); `vllm@unknown` before.
   */
  get id(): string {
    const version = [...this.servers.values()].map((server) => server.status().version).find(Boolean);
    return `vllm@${version ?? 'unknown'}${this.options.idSuffix ?? ''}`;
  }

  status(): VllmEngineStatus[] {
    return [...this.servers.values()].map((server) => ({ ...server.status(), activeJobs: this.activeJobs.get(server.modelPath) ?? 0 }));
  }

  async preload(modelPath: string): Promise<void> {
    await this.serverFor(modelPath).ready();
  }

  async close(): Promise<void> {
    await Promise.all([...this.servers.values()].map((server) => server.stop()));
    this.servers.clear();
  }

  async generate(request: GenerationRequest): Promise<GenerationResult> {
    const started = performance.now();
    refuseInexactContinuation(request);
    const server = this.serverFor(request.modelPath);
    const controller = new AbortController();
    const onAbort = () => controller.abort();
    request.signal?.addEventListener('abort', onAbort, { once: true });
    if (request.signal?.aborted) controller.abort();
    let deadlineHit = false;
    const timer =
      request.deadlineMs !== undefined
        ? setTimeout(() => {
            deadlineHit = true;
            controller.abort();
          }, Math.max(0, request.deadlineMs))
        : undefined;
    const job: JobProgress = { text: '', tokenIds: [], records: [], pending: [], promptTokens: 0, firstTokenMs: 0 };
    this.activeJobs.set(request.modelPath, (this.activeJobs.get(request.modelPath) ?? 0) + 1);
    let process: VllmProcess | undefined;
    try {
      process = await untilAborted(server.ready(), controller.signal);
      const finishReason = await this.stream(server, process, request, controller.signal, job, started);
      return await this.resultOf(process, server.servedName, request, job, finishReason, started);
    } catch (error) {
      if (deadlineHit) throw new VllmDeadlineError(request.deadlineMs!);
      if (request.signal?.aborted) return { text: job.text, tokenIds: job.tokenIds, finishReason: 'cancelled', promptTokens: job.promptTokens, firstTokenMs: job.firstTokenMs, totalMs: performance.now() - started };
      if (process) {
        await Promise.race([process.ended, new Promise((resolve) => setTimeout(resolve, CRASH_SETTLE_MS))]);
        if (process.hasEnded()) throw new VllmServerCrashedError(request.modelPath, process.id, howItEnded(await process.ended), { cause: error });
      }
      if (error instanceof InfernetError) throw error;
      throw new VllmRequestError(undefined, `the vLLM request failed: ${(error as Error).message}`, { cause: error });
    } finally {
      clearTimeout(timer);
      request.signal?.removeEventListener('abort', onAbort);
      // Closing the stream is what tells vLLM to stop computing a request given up early.
      controller.abort();
      this.activeJobs.set(request.modelPath, (this.activeJobs.get(request.modelPath) ?? 1) - 1);
    }
  }

  /** Streams the job's completion into `job`, pieces to onText as they arrive; the finish reason, read. */
  private async stream(server: VllmServer, process: VllmProcess, request: GenerationRequest, signal: AbortSignal, job: JobProgress, started: number): Promise<GenerationResult['finishReason']> {
    const { tokens, maxModelLength } = await tokenizeInput(process.baseUrl, server.servedName, request.input, signal);
    job.promptTokens = tokens.length;
    const earlier = request.continueFrom ?? [];
    const prompt = [...tokens, ...earlier];
    if (prompt.length >= maxModelLength) throw new PromptTooLongError(prompt.length, maxModelLength);
    const stops = new StopSequenceScanner(request.sampling.stop ?? []);
    // The earlier provider held back text that could start a stop sequence; scanned here first, a stop sequence
    // that straddles the failover is found, and the held text is streamed first when none does.
    if (earlier.length && request.sampling.stop?.length && stops.push(await detokenize(process.baseUrl, server.servedName, earlier, signal)).stopped) return 'stop';
    const topK = Math.max(request.fingerprintTopK ?? 0, request.logprobsTopK ?? 0);
    const body = completionBodyOf({ servedName: server.servedName, prompt, sampling: request.sampling, maxTokens: Math.min(request.sampling.maxTokens, maxModelLength - prompt.length), logprobs: topK });
    const emit = (piece: string): void => {
      const ids = job.pending.splice(0);
      if (!piece && !ids.length) return;
      job.text += piece;
      request.onText?.({ text: piece, tokenIds: ids });
    };
    for await (const chunk of streamCompletion(process.baseUrl, body, signal)) {
      const tokens = withoutEndOfSequence(chunk);
      tokens.forEach((token, i) => {
        job.tokenIds.push(token);
        job.pending.push(token);
        job.records.push({ token, logprob: chunk.logprobs[i]!, top: chunk.top[i]! });
      });
      if (!job.firstTokenMs && tokens.length) job.firstTokenMs = performance.now() - started;
      const scan = stops.push(chunk.text);
      emit(scan.emit);
      if (scan.stopped) return 'stop';
      if (chunk.finishReason !== null) {
        emit(stops.flush());
        if (chunk.finishReason === 'stop' || chunk.finishReason === 'length') return chunk.finishReason;
        throw new VllmRequestError(undefined, `vLLM ended the request with finish_reason ${JSON.stringify(chunk.finishReason)}`);
      }
    }
    throw new VllmRequestError(undefined, 'the vLLM completion stream ended before its last chunk');
  }

  private async resultOf(process: VllmProcess, servedName: string, request: GenerationRequest, job: JobProgress, finishReason: GenerationResult['finishReason'], started: number): Promise<GenerationResult> {
    const result: GenerationResult = { text: job.text, tokenIds: job.tokenIds, finishReason, promptTokens: job.promptTokens, firstTokenMs: job.firstTokenMs, totalMs: performance.now() - started };
    const fingerprintTopK = request.fingerprintTopK;
    if (fingerprintTopK !== undefined) {
      result.fingerprints = job.records.map((record): TokenFingerprint => ({ token: record.token, logprob: record.logprob, top: record.top.slice(0, Math.min(fingerprintTopK, MAX_FINGERPRINT_TOP)) }));
    }
    if (request.logprobsTopK !== undefined) result.tokenLogprobs = await this.tokenLogprobsOf(process, servedName, job.records, request.logprobsTopK);
    result.totalMs = performance.now() - started;
    return result;
  }

  /**
   * Each token and alternative as text: vLLM names them by id (return_tokens_as_token_ids), so their texts are looked
   * up by /detokenize one id at a time, as vLLM's own logprobs would show them, and kept for the next job.
   */
  private async tokenLogprobsOf(process: VllmProcess, servedName: string, records: readonly TokenRecord[], topK: number): Promise<TokenLogprob[]> {
    let texts = this.tokenTexts.get(servedName);
    if (!texts) this.tokenTexts.set(servedName, (texts = new Map()));
    const known = texts;
    const missing = [...new Set(records.flatMap((record) => [record.token, ...record.top.slice(0, topK).map(([token]) => token)]))].filter((token) => !known.has(token));
    for (let at = 0; at < missing.length; at += DETOKENIZE_CONCURRENCY) {
      const batch = missing.slice(at, at + DETOKENIZE_CONCURRENCY);
      const answers = await Promise.all(batch.map((token) => detokenize(process.baseUrl, servedName, [token])));
      batch.forEach((token, i) => known.set(token, answers[i]!));
    }
    return records.map((record) => ({ token: known.get(record.token)!, logprob: record.logprob, top: record.top.slice(0, topK).map(([token, logprob]) => ({ token: known.get(token)!, logprob })) }));
  }

  private serverFor(modelPath: string): VllmServer {
    let server = this.servers.get(modelPath);
    if (!server) {
      const { launch, readyTimeoutMs, restartDelayMs, restartMaxDelayMs, maxDeaths, onEvent } = this.options;
      server = new VllmServer({
        launch,
        modelPath,
        servedName: servedNameOf(modelPath),
        ...(readyTimeoutMs !== undefined ? { readyTimeoutMs } : {}),
        ...(restartDelayMs !== undefined ? { restartDelayMs } : {}),
        ...(restartMaxDelayMs !== undefined ? { restartMaxDelayMs } : {}),
        ...(maxDeaths !== undefined ? { maxDeaths } : {}),
        ...(onEvent ? { onEvent } : {}),
      });
      this.servers.set(modelPath, server);
    }
    return server;
  }
}

interface JobProgress {
  text: string;
  tokenIds: number[];
  records: TokenRecord[];
  /** Tokens whose text is not streamed yet (held by vLLM or by the stop scanner). */
  pending: number[];
  promptTokens: number;
  firstTokenMs: number;
}

/** The name vLLM serves a model folder under: its base name, in the characters the vllm template allows. */
export function servedNameOf(modelPath: string): string {
  const name = basename(modelPath.replace(/\/+$/, '')).replace(/[^A-Za-z0-9._-]/g, '-').replace(/^\.+/, '');
  return name || 'model';
}

/**
 * vLLM keeps the model's end-of-sequence token among its output tokens, last in the final chunk, which ends with
 * finish_reason stop and stop_reason null (a stop string or stop token would be named there). Its text is none, but
 * the chunk may carry text held back for stop strings. The engine interface's tokens end before it, like llama.cpp's.
 */
function withoutEndOfSequence(chunk: VllmChunk): number[] {
  const endsOnEos = chunk.finishReason === 'stop' && chunk.stopReason === null && chunk.tokenIds.length > 0;
  return endsOnEos ? chunk.tokenIds.slice(0, -1) : chunk.tokenIds;
}

function refuseInexactContinuation(request: GenerationRequest): void {
  if (!request.continueFrom?.length) return;
  const { presencePenalty, frequencyPenalty, format } = request.sampling;
  if (presencePenalty || frequencyPenalty) {
    throw new VllmUnsupportedJobError('vLLM counts presence and frequency penalties over the tokens it generated itself, not over the earlier tokens of a continuation: this continuation would not go on as the uninterrupted run');
  }
  if (format) throw new VllmUnsupportedJobError("vLLM's structured output starts its grammar at the first new token, not after the earlier tokens of a continuation: this continuation would not be exact");
}

function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new Error('aborted'));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Error('aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error as Error);
      },
    );
  });
}
