// One llama-server process: the head that loads a model (onto RPC stages when given), answers on a loopback port,
// and streams completions with per-token log-probabilities over its HTTP API.
import type { ChatMessage } from '../protocol/index.js';
import type { GpuLayers } from '../planner/index.js';
import { EngineProcessError, freeLoopbackPort, runningProgramOf, startEngineProcess, waitUntilReady, type RunningProgram } from './engine-process.js';
import { InfernetError } from '../errors/index.js';
import { inferenceServerHealthy } from '../inference/server-health.js';
import { serverSentEvents } from '../inference/server-sent-events.js';

export type LlamaSplitMode = 'layer' | 'tensor';

/** A llama-server started somewhere: a child process of this one, or a sandboxed container. */
export interface LaunchedLlamaServer extends RunningProgram {
  baseUrl: string;
  /** The child process's pid; none for a container. */
  pid?: number;
}

/** Starts llama-server on a model; the launcher sets the model, host and port, `servingArguments` the rest. */
export type LaunchLlamaServer = (request: { modelPath: string; servingArguments: string[] }) => Promise<LaunchedLlamaServer>;

export interface LlamaServerHeadOptions {
  /** The llama-server program, for the default launch: a child process on a loopback port. */
  llamaServer: string;
  /** Where it runs instead (the Docker sandbox's container); the child process when absent. */
  launch?: LaunchLlamaServer;
  modelPath: string;
  /** Threads for one-token decode steps (llama.cpp's n_threads). */
  threads: number;
  /** Threads for steps of several tokens (prompts, and sequences decoded together); `threads` when absent. */
  batchThreads?: number;
  /** Context of each sequence. */
  contextSize: number;
  /** Sequences decoded together (llama-server's slots, continuous batching); 1 when absent. */
  parallel?: number;
  /**
   * On a GPU build, the layers offloaded (-ngl): all, or this many; llama.cpp's own "auto" fit when absent, which
   * the provider never leaves it (a partial offload must be chosen).
   */
  gpuLayers?: GpuLayers;
  /** host:port of each RPC stage, in pipeline order; none runs the model in this process. */
  rpc?: readonly string[];
  splitMode?: LlamaSplitMode;
  /** Proportions per device (llama.cpp's --tensor-split). */
  tensorSplit?: readonly number[];
  /** Model load (weights uploaded to the stages included). */
  loadTimeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

export interface CompletionRequest {
  /** Token ids, BOS included: the prompt, plus on a replay the tokens already generated. */
  tokens: readonly number[];
  maxTokens: number;
  temperature: number;
  topK?: number;
  topP?: number;
  seed?: number;
  stop?: readonly string[];
  presencePenalty?: number;
  frequencyPenalty?: number;
  /** [token id, logit added]. */
  logitBias?: ReadonlyArray<readonly [number, number]>;
  /** The output is JSON valid against this schema (llama-server turns it into a grammar). */
  jsonSchema?: Record<string, unknown>;
  /** Most likely alternatives to report per token (llama-server's n_probs); at least the chosen token's logprob. */
  topLogprobs?: number;
  signal?: AbortSignal;
  /** Called per streamed chunk in order. */
  onChunk: (chunk: CompletionChunk) => void;
}

export interface CompletionChunk {
  text: string;
  tokenIds: number[];
  /** Natural log of each token's probability, one per id. */
  logprobs: number[];
  /** [token id, logprob] of the most likely tokens at each position, best first. */
  top: [number, number][][];
}

export interface CompletionEnd {
  stopType: 'eos' | 'limit' | 'word' | 'none';
}

export class HeadFailedError extends InfernetError {
  override readonly name = 'HeadFailedError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('engine_failed', message, options);
  }
}

const DEFAULT_LOAD_TIMEOUT_MS = 120_000;

export class LlamaServerHead {
  private constructor(private readonly server: LaunchedLlamaServer) {}

  static async start(options: LlamaServerHeadOptions): Promise<LlamaServerHead> {
    const launch = options.launch ?? childProcessLauncher(options.llamaServer, options.env);
    for (let attempt = 0; ; attempt++) {
      const head = new LlamaServerHead(await launch({ modelPath: options.modelPath, servingArguments: servingArguments(options) }));
      try {
        await waitUntilReady(head.server, () => head.healthy(), options.loadTimeoutMs ?? DEFAULT_LOAD_TIMEOUT_MS, 'llama-server');
        return head;
      } catch (error) {
        // A child process that lost the race for its port exits at once with a bind error: choose another port.
        if (!options.launch && attempt < 2 && error instanceof EngineProcessError && /bind|address already in use/i.test(error.lastOutput)) continue;
        throw error;
      }
    }
  }

  get baseUrl(): string {
    return this.server.baseUrl;
  }

  get pid(): number | undefined {
    return this.server.pid;
  }

  hasExited(): boolean {
    return this.server.hasExited();
  }

  lastOutput(): string {
    return this.server.lastOutput();
  }

  healthy(): Promise<boolean> {
    return inferenceServerHealthy(this.baseUrl);
  }

  /** The prompt's tokens as llama-server would feed them, BOS included. */
  async tokenize(text: string): Promise<number[]> {
    const body = (await this.post('/tokenize', { content: text, add_special: true })) as { tokens?: unknown };
    if (!Array.isArray(body.tokens) || !body.tokens.every((t) => typeof t === 'number')) throw new HeadFailedError('llama-server /tokenize answered without tokens');
    return body.tokens as number[];
  }

  /** A chat rendered through the model's own template. */
  async applyTemplate(messages: readonly ChatMessage[]): Promise<string> {
    const body = (await this.post('/apply-template', { messages })) as { prompt?: unknown };
    if (typeof body.prompt !== 'string') throw new HeadFailedError('llama-server /apply-template answered without a prompt');
    return body.prompt;
  }

  /** Streams one completion; throws HeadFailedError when the stream ends without its final chunk. */
  async complete(request: CompletionRequest): Promise<CompletionEnd> {
    const payload = {
      prompt: [...request.tokens],
      n_predict: request.maxTokens,
      stream: true,
      return_tokens: true,
      n_probs: Math.max(1, request.topLogprobs ?? 1),
      temperature: request.temperature,
      cache_prompt: false,
      ...(request.topK !== undefined ? { top_k: request.topK } : {}),
      ...(request.topP !== undefined ? { top_p: request.topP } : {}),
      ...(request.seed !== undefined ? { seed: request.seed } : {}),
      ...(request.stop?.length ? { stop: [...request.stop] } : {}),
      ...(request.presencePenalty ? { presence_penalty: request.presencePenalty } : {}),
      ...(request.frequencyPenalty ? { frequency_penalty: request.frequencyPenalty } : {}),
      ...(request.logitBias?.length ? { logit_bias: request.logitBias.map(([id, bias]) => [id, bias]) } : {}),
      ...(request.jsonSchema ? { json_schema: request.jsonSchema } : {}),
    };
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}/completion`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload), ...(request.signal ? { signal: request.signal } : {}) });
    } catch (error) {
      if (request.signal?.aborted) throw error;
      throw new HeadFailedError(`llama-server did not answer: ${(error as Error).message}`, { cause: error });
    }
    if (!response.ok || !response.body) throw new HeadFailedError(`llama-server answered ${response.status}: ${(await response.text()).slice(0, 300)}`);
    const streamed = { ids: 0 };
    try {
      for await (const event of serverSentEvents(response.body)) {
        const end = this.handleEvent(event, request, streamed);
        if (end) return end;
      }
    } catch (error) {
      if (request.signal?.aborted) throw error;
      throw new HeadFailedError(`the completion stream broke: ${(error as Error).message}`, { cause: error });
    }
    throw new HeadFailedError('the completion stream ended before its last chunk (the head or a stage died)');
  }

  async stop(): Promise<void> {
    await this.server.stop();
  }

  private handleEvent(data: string, request: CompletionRequest, streamed: { ids: number }): CompletionEnd | undefined {
    const chunk = JSON.parse(data) as StreamChunk;
    if (chunk.error) throw new HeadFailedError(`llama-server: ${chunk.error.message ?? JSON.stringify(chunk.error)}`);
    const tokenIds = chunk.tokens ?? [];
    streamed.ids += tokenIds.length;
    // Every sampled token's id must stream, in order: fingerprints, logprobs and a failover's continuation are built
    // from them. A llama-server without Infernet's patch skips a token whose text ends mid-character.
    if (!chunk.stop && chunk.tokens_predicted !== undefined && chunk.tokens_predicted !== streamed.ids) {
      throw new HeadFailedError(
        `llama-server decoded ${chunk.tokens_predicted} tokens but streamed ${streamed.ids} token ids: it lacks the patch ` +
          'scripts/llama-patches/0001-stream-token-ids-of-incomplete-utf8.patch (build it with scripts/build-llama-rpc.sh)',
      );
    }
    const probabilities = chunk.completion_probabilities ?? [];
    const logprobs = probabilities.map((p) => p.logprob ?? NaN);
    const top = probabilities.map((p) => (p.top_logprobs ?? []).map((alt): [number, number] => [alt.id, alt.logprob]));
    if (tokenIds.length || chunk.content) request.onChunk({ text: chunk.content ?? '', tokenIds, logprobs, top });
    if (chunk.stop) return { stopType: chunk.stop_type ?? 'none' };
    return undefined;
  }

  private async post(path: string, body: unknown): Promise<unknown> {
    const response = await fetch(`${this.baseUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).catch((error: Error) => {
      throw new HeadFailedError(`llama-server did not answer ${path}: ${error.message}`, { cause: error });
    });
    if (!response.ok) throw new HeadFailedError(`llama-server ${path} answered ${response.status}: ${(await response.text()).slice(0, 300)}`);
    return response.json();
  }
}

interface StreamChunk {
  content?: string;
  tokens?: number[];
  /** Tokens decoded so far (n_decoded), on every partial chunk. */
  tokens_predicted?: number;
  stop?: boolean;
  stop_type?: CompletionEnd['stopType'];
  completion_probabilities?: { id?: number; logprob?: number; top_logprobs?: { id: number; logprob: number }[] }[];
  error?: { message?: string };
}

/** The argument list for a head run as a child process on `port`: pure, so the exact command line is tested. */
export function headArguments(options: LlamaServerHeadOptions, port: number): string[] {
  return childArguments(options.modelPath, port, servingArguments(options));
}

function childArguments(modelPath: string, port: number, serving: readonly string[]): string[] {
  return ['-m', modelPath, '--host', '127.0.0.1', '--port', String(port), ...serving];
}

/** Everything after the model, host and port: threads, context, slots, stages. */
export function servingArguments(options: Omit<LlamaServerHeadOptions, 'llamaServer' | 'modelPath'>): string[] {
  const parallel = options.parallel ?? 1;
  // llama-server splits its context (-c) between its slots: each slot gets contextSize.
  const args = ['-t', String(options.threads), '-c', String(options.contextSize * parallel), '-np', String(parallel), '--no-webui'];
  if (options.batchThreads !== undefined) args.push('-tb', String(options.batchThreads));
  if (options.gpuLayers !== undefined && !options.rpc?.length) args.push('-ngl', String(options.gpuLayers));
  if (options.rpc?.length) {
    args.push('--rpc', options.rpc.join(','), '-ngl', '999', '-sm', options.splitMode ?? 'layer');
    // llama.cpp's tensor split mode needs flash attention.
    if (options.splitMode === 'tensor') args.push('-fa', 'on');
    if (options.tensorSplit?.length) args.push('--tensor-split', options.tensorSplit.map((share) => String(share)).join(','));
  }
  return args;
}

/** llama-server as a child process on a free loopback port. */
function childProcessLauncher(llamaServer: string, env: NodeJS.ProcessEnv | undefined): LaunchLlamaServer {
  return async ({ modelPath, servingArguments: serving }) => {
    const port = await freeLoopbackPort();
    const process = startEngineProcess(llamaServer, childArguments(modelPath, port, serving), env);
    return {
      baseUrl: `http://127.0.0.1:${port}`,
      ...(process.child.pid !== undefined ? { pid: process.child.pid } : {}),
      ...runningProgramOf(process),
    };
  };
}

