// llama.cpp in-process through node-llama-cpp, on CPU. Models are loaded once and kept; each job gets its own
// context sequence, so `slots` jobs run at once on one loaded model.
import { stat } from 'node:fs/promises';
import { freemem } from 'node:os';
import { getLlama, LlamaGrammarEvaluationState, LlamaText, resolveChatWrapper, TokenBias, type Llama, type LlamaContext, type LlamaContextSequence, type LlamaEmbeddingContext, type LlamaGrammar, type LlamaModel, type SequenceEvaluateOptions, type Token } from 'node-llama-cpp';
import type { ChatMessage, GenerationInput, OutputFormat, TokenFingerprint, TokenLogprob } from '../protocol/index.js';
import { EmbeddingTooLargeError, InvalidGrammarError, ModelLoadError, PromptTooLongError, type EmbeddingRequest, type EmbeddingResult, type GenerationRequest, type GenerationResult, type InferenceEngine } from './inference-engine.js';
import { grammarSchemaOf } from './json-schema-grammar.js';
import { StopSequenceScanner } from './stop-sequences.js';

export const NODE_LLAMA_CPP_VERSION = '3.21.1';
/** Tokens of context kept when detokenizing a new piece, so SentencePiece spacing comes out right. */
const DETOKENIZE_CONTEXT_TOKENS = 4;
/** The stop trigger node-llama-cpp gives its JSON grammars (LlamaJsonSchemaGrammar, getGrammarFor('json')). */
const JSON_GRAMMAR_STOP = '\n'.repeat(4);

export interface LlamaCppEngineOptions {
  /** Decoding threads per job. */
  threads: number;
  contextSize: number;
  /** Jobs that may run at once on one model: one context with this many sequences, decoded in one batch. */
  slots: number;
  /** The llama.cpp backend to load: false (the default) for the CPU; see selectInferenceBackend. */
  gpu?: false | 'cuda' | 'vulkan' | 'metal';
  /**
   * On a GPU, the model's layers offloaded to it: all (the default) or this many, never node-llama-cpp's own guess
   * ("auto" would offload what it estimates fits, a slower partial offload nobody chose). The provider checked both
   * shares against free VRAM and RAM before (src/provider/model-memory-check.ts).
   */
  gpuLayers?: 'all' | number;
  /**
   * Keep each finished job's sequence with its KV cache, and start a job on the idle sequence whose evaluated tokens
   * share the longest prefix with its prompt (a common system prompt): only the rest of the prompt is evaluated.
   * The warm engine turns it on; off, every job gets a fresh sequence as before.
   */
  reusePrefixes?: boolean;
}

interface LoadedModel {
  model: LlamaModel;
  context: LlamaContext;
  /** Finished jobs' sequences, their KV caches kept for prefix reuse; the longest idle first. */
  idle: LlamaContextSequence[];
}

/** Where a loaded model runs: the backend llama.cpp loaded and the layers it offloaded to the GPU. */
export interface LoadedModelPlacement {
  backend: string;
  gpuLayers: number;
}

export class LlamaCppEngine implements InferenceEngine {
  readonly id = `llama.cpp/node-llama-cpp@${NODE_LLAMA_CPP_VERSION}`;
  readonly continuesGenerations = true;
  private llama?: Promise<Llama>;
  private readonly models = new Map<string, Promise<LoadedModel>>();
  /** A context in embedding mode per model, made at its first embedding job: generation contexts compute none. */
  private readonly embeddingContexts = new Map<string, Promise<LlamaEmbeddingContext>>();
  private modelLoads = 0;
  private reusedTokens = 0;

  constructor(private readonly options: LlamaCppEngineOptions) {}

  /** Models loaded since this engine started (a reused model counts once). */
  get loads(): number {
    return this.modelLoads;
  }

  /** Prompt tokens taken from a kept sequence's KV cache instead of being evaluated again, since this engine started. */
  get reusedPromptTokens(): number {
    return this.reusedTokens;
  }

  async preload(modelPath: string): Promise<void> {
    await this.load(modelPath);
  }

  /** The backend and offloaded layers of a model, loading it first if need be. */
  async placementOf(modelPath: string): Promise<LoadedModelPlacement> {
    const { model } = await this.load(modelPath);
    return { backend: model.llama.gpu === false ? 'cpu' : model.llama.gpu, gpuLayers: model.gpuLayers };
  }

  async generate(request: GenerationRequest): Promise<GenerationResult> {
    const started = performance.now();
    const loaded = await this.load(request.modelPath);
    const { model, context } = loaded;
    // A continuation (failover replay) evaluates what an earlier provider generated after the prompt, then goes on.
    const earlier = (request.continueFrom ?? []) as Token[];
    const promptTokens = [...promptTokensOf(model, request.input), ...earlier];
    const contextSize = context.contextSize;
    if (promptTokens.length >= contextSize) throw new PromptTooLongError(promptTokens.length, contextSize);
    const maxTokens = Math.min(request.sampling.maxTokens, contextSize - promptTokens.length);
    const generated: Token[] = [];
    const options = await this.evaluateOptions(model, request, generated);
    const { sequence, reused } = await this.sequenceFor(loaded, promptTokens);
    // The cached prefix is already in the sequence: only the rest of the prompt is evaluated.
    const toEvaluate = promptTokens.slice(reused);
    let keep = false;
    try {
      const job = { ...request, maxTokens, started, promptTokens: promptTokens.length - earlier.length, earlier, generated };
      const topK = Math.max(request.fingerprintTopK ?? -1, request.logprobsTopK ?? -1);
      if (topK < 0) {
        const result = await decode(model, sequence.evaluate(toEvaluate, options), job);
        keep = true;
        return result;
      }
      const fingerprints: TokenFingerprint[] = [];
      const tokens = fingerprintedTokens(sequence.evaluateWithMetadata(toEvaluate, { confidence: true, probabilities: topK > 0 }, options), topK, fingerprints);
      const result = await decode(model, tokens, job);
      keep = true;
      // The engine also evaluated the end-of-generation token (and any past a stop sequence): keep one per output token.
      const kept = fingerprints.slice(0, result.tokenIds.length);
      const fingerprintTopK = request.fingerprintTopK;
      return {
        ...result,
        ...(fingerprintTopK !== undefined ? { fingerprints: kept.map((f) => ({ ...f, top: f.top.slice(0, fingerprintTopK) })) } : {}),
        ...(request.logprobsTopK !== undefined ? { tokenLogprobs: tokenLogprobsOf(model, kept, request.logprobsTopK) } : {}),
      };
    } finally {
      // A job that failed may have left its sequence half-evaluated: only a finished one's cache is kept.
      if (keep && this.options.reusePrefixes && !sequence.disposed) loaded.idle.push(sequence);
      else await sequence.dispose();
    }
  }

  /**
   * The sequence a job runs on, and how many of its prompt tokens are already evaluated there. With prefix reuse, the
   * idle sequence sharing the longest prefix with the prompt is cut back to that prefix (at least the prompt's last
   * token is evaluated again, for its logits); with none sharing any, a new sequence, else the least recently used
   * idle one cleared.
   */
  private async sequenceFor(loaded: LoadedModel, promptTokens: Token[]): Promise<{ sequence: LlamaContextSequence; reused: number }> {
    const { context, idle } = loaded;
    if (!this.options.reusePrefixes) return { sequence: context.getSequence(), reused: 0 };
    let best = -1;
    let shared = 0;
    idle.forEach((sequence, index) => {
      // A recurrent model's state, or a sliding window's, cannot be cut back to a prefix.
      const cuttable = !sequence.model.fileInsights.isRecurrent && sequence.stateCellsStartIndex <= 0;
      const common = cuttable ? Math.min(sequence.compareContextTokens(promptTokens).firstDifferentIndex, promptTokens.length - 1) : 0;
      if (common > shared) [best, shared] = [index, common];
    });
    if (best < 0) {
      if (context.sequencesLeft > 0 || !idle.length) return { sequence: context.getSequence(), reused: 0 };
      best = 0;
    }
    const [sequence] = idle.splice(best, 1) as [LlamaContextSequence];
    if (shared === 0) await sequence.clearHistory();
    else if (shared < sequence.nextTokenIndex) await sequence.eraseContextTokenRanges([{ start: shared, end: sequence.nextTokenIndex }]);
    this.reusedTokens += shared;
    return { sequence, reused: shared };
  }

  /**
   * One vector per text, in order, from the model's embedding context: the texts run one after the other on its one
   * sequence (node-llama-cpp serializes them), and the same text gives the same bytes on every run.
   */
  async embed(request: EmbeddingRequest): Promise<EmbeddingResult> {
    const started = performance.now();
    const context = await this.embeddingContextOf(request.modelPath);
    const dimensions = context.model.embeddingVectorSize;
    if (request.maxValues !== undefined && request.texts.length * dimensions > request.maxValues) throw new EmbeddingTooLargeError(request.texts.length, dimensions, request.maxValues);
    const lengths = request.texts.map((text) => context.calculateInputLength(text));
    const contextSize = Math.min(this.options.contextSize, context.model.trainContextSize);
    const longest = Math.max(...lengths);
    if (longest >= contextSize) throw new PromptTooLongError(longest, contextSize);
    const vectors: number[][] = [];
    for (const text of request.texts) {
      request.signal?.throwIfAborted();
      vectors.push([...(await context.getEmbeddingFor(text)).vector]);
    }
    return { vectors, dimensions, promptTokens: lengths.reduce((sum, length) => sum + length, 0), totalMs: performance.now() - started };
  }

  private embeddingContextOf(modelPath: string): Promise<LlamaEmbeddingContext> {
    let creating = this.embeddingContexts.get(modelPath);
    if (!creating) {
      creating = this.load(modelPath).then(async ({ model }) => {
        try {
          return await model.createEmbeddingContext({ contextSize: Math.min(this.options.contextSize, model.trainContextSize), threads: this.options.threads });
        } catch (cause) {
          throw new ModelLoadError(modelPath, `llama.cpp cannot compute embeddings with ${modelPath}: ${(cause as Error).message}`, { cause });
        }
      });
      this.embeddingContexts.set(modelPath, creating);
      creating.catch(() => this.embeddingContexts.delete(modelPath));
    }
    return creating;
  }

  /** Sampling as llama.cpp applies it; the grammar, penalties and biases hold at temperature 0 as well. */
  private async evaluateOptions(model: LlamaModel, request: GenerationRequest, generated: Token[]): Promise<SequenceEvaluateOptions> {
    const { temperature, topK, topP, seed, presencePenalty, frequencyPenalty, logitBias, format } = request.sampling;
    const options: SequenceEvaluateOptions = temperature === 0 ? { temperature: 0 } : { temperature, ...(topK !== undefined ? { topK } : {}), ...(topP !== undefined ? { topP } : {}), ...(seed !== undefined ? { seed } : {}) };
    if (presencePenalty || frequencyPenalty) {
      // OpenAI's penalties count the tokens generated so far, not the prompt's; no multiplicative repeat penalty.
      // A continuation's earlier tokens were generated for this job too: they count as an uninterrupted run's would.
      const earlier = (request.continueFrom ?? []) as Token[];
      const punishTokens = earlier.length ? () => [...earlier, ...generated] : () => generated;
      options.repeatPenalty = { punishTokens, penalty: 1, presencePenalty: presencePenalty ?? 0, frequencyPenalty: frequencyPenalty ?? 0 };
    }
    if (logitBias?.length) {
      const bias = TokenBias.for(model);
      const vocabulary = vocabularySizeOf(model);
      for (const [token, logit] of logitBias) if (token < vocabulary) bias.set(token as Token, logit <= -100 ? 'never' : { logit });
      options.tokenBias = bias;
    }
    if (format) options.grammarEvaluationState = new LlamaGrammarEvaluationState({ model, grammar: await this.grammarOf(format) });
    return options;
  }

  private async grammarOf(format: OutputFormat): Promise<LlamaGrammar> {
    const llama = await this.llama!;
    if (format.type === 'json') return llama.getGrammarFor('json');
    try {
      // The client node checked the schema; a provider still takes it only in the dialect it compiles.
      return await llama.createGrammarForJsonSchema(grammarSchemaOf(format.schema, { strict: false }) as never);
    } catch (cause) {
      throw new InvalidGrammarError(`the JSON schema cannot be compiled to a grammar: ${(cause as Error).message}`, { cause });
    }
  }

  async close(): Promise<void> {
    for (const creating of this.embeddingContexts.values()) await (await creating.catch(() => undefined))?.dispose();
    this.embeddingContexts.clear();
    for (const loading of this.models.values()) {
      const loaded = await loading.catch(() => undefined);
      await loaded?.context.dispose();
      await loaded?.model.dispose();
    }
    this.models.clear();
    const llama = await this.llama?.catch(() => undefined);
    await llama?.dispose();
  }

  private load(modelPath: string): Promise<LoadedModel> {
    let loading = this.models.get(modelPath);
    if (!loading) {
      loading = this.loadModel(modelPath);
      this.models.set(modelPath, loading);
      loading.catch(() => this.models.delete(modelPath));
    }
    return loading;
  }

  private async loadModel(modelPath: string): Promise<LoadedModel> {
    const size = await stat(modelPath).then(
      (info) => info.size,
      (cause: unknown) => {
        throw new ModelLoadError(modelPath, `model file ${modelPath} cannot be read`, { cause });
      },
    );
    // Refuse before loading rather than let the machine swap or the process be killed. On a GPU the weights go to
    // VRAM (the provider's check placed them): free RAM says nothing there.
    if (!this.options.gpu && size > freemem()) {
      throw new ModelLoadError(modelPath, `model ${modelPath} needs ${mib(size)} MiB but only ${mib(freemem())} MiB of memory is free`);
    }
    this.llama ??= getLlama({ gpu: this.options.gpu ?? false, build: 'never', logLevel: 'error' as never });
    try {
      this.modelLoads++;
      const gpuLayers = this.options.gpu ? { gpuLayers: this.options.gpuLayers === undefined || this.options.gpuLayers === 'all' ? ('max' as const) : this.options.gpuLayers } : {};
      const model = await (await this.llama).loadModel({ modelPath, ...gpuLayers });
      const context = await model.createContext({ contextSize: Math.min(this.options.contextSize, model.trainContextSize), sequences: this.options.slots, threads: this.options.threads });
      return { model, context, idle: [] };
    } catch (cause) {
      throw new ModelLoadError(modelPath, `llama.cpp cannot load ${modelPath}: ${(cause as Error).message}`, { cause });
    }
  }
}

function mib(bytes: number): number {
  return Math.ceil(bytes / 2 ** 20);
}

/** Token ids past the vocabulary would index past llama.cpp's logits: such biases are dropped. */
function vocabularySizeOf(model: LlamaModel): number {
  return model.fileInfo.metadata.tokenizer?.ggml?.tokens?.length ?? 0;
}

/** Each kept token as text with its alternatives, read in the context of the tokens before it (SentencePiece spacing). */
function tokenLogprobsOf(model: LlamaModel, fingerprints: readonly TokenFingerprint[], topK: number): TokenLogprob[] {
  const textOf = (token: number, index: number) =>
    model.detokenize([token as Token], false, fingerprints.slice(Math.max(0, index - DETOKENIZE_CONTEXT_TOKENS), index).map((f) => f.token as Token));
  return fingerprints.map((f, index) => ({ token: textOf(f.token, index), logprob: f.logprob, top: f.top.slice(0, topK).map(([token, logprob]) => ({ token: textOf(token, index), logprob })) }));
}

/** Passes the tokens on, recording each one's fingerprint (chosen logprob and the topK most likely) on the way. */
async function* fingerprintedTokens(
  outputs: AsyncGenerator<{ token: Token; confidence: number; probabilities?: Map<Token, number> }>,
  topK: number,
  into: TokenFingerprint[],
): AsyncGenerator<Token> {
  for await (const output of outputs) {
    into.push({ token: output.token, logprob: finiteLogprob(output.confidence), top: output.probabilities ? topLogprobs(output.probabilities, topK) : [] });
    yield output.token;
  }
}

/** The floor OpenAI reports for a token its sampler ruled out: JSON has no -Infinity (it would travel as null). */
const LOGPROB_FLOOR = -9999;

function finiteLogprob(probability: number): number {
  return probability > 0 ? Math.max(Math.log(probability), LOGPROB_FLOOR) : LOGPROB_FLOOR;
}

/** The k most likely tokens with their logprobs; tokens a grammar or a bias ruled out (probability 0) are no alternatives. */
function topLogprobs(probabilities: Map<Token, number>, k: number): [number, number][] {
  const best: [number, number][] = [];
  for (const [token, probability] of probabilities) {
    if (!(probability > 0)) continue;
    if (best.length === k && probability <= best[k - 1]![1]) continue;
    best.push([token, probability]);
    best.sort((a, b) => b[1] - a[1] || a[0] - b[0]);
    if (best.length > k) best.pop();
  }
  return best.map(([token, probability]) => [token, finiteLogprob(probability)]);
}

/** The prompt as llama.cpp's own server tokenizes it: BOS first when the model wants one, chats through the model's template. */
export function promptTokensOf(model: LlamaModel, input: GenerationInput): Token[] {
  if ('messages' in input) return chatPromptTokens(model, input.messages);
  const bos = model.tokens.bos;
  const body = model.tokenize(input.prompt);
  return bos !== null && model.tokens.shouldPrependBosToken ? [bos, ...body] : body;
}

function chatPromptTokens(model: LlamaModel, messages: ChatMessage[]): Token[] {
  const wrapper = resolveChatWrapper(model);
  const chatHistory = messages.map((message) =>
    message.role === 'assistant' ? { type: 'model' as const, response: [message.content] } : { type: message.role, text: message.content },
  );
  chatHistory.push({ type: 'model', response: [] });
  const { contextText } = wrapper.generateContextState({ chatHistory });
  return LlamaText(contextText).tokenize(model.tokenizer);
}

interface DecodeContext extends GenerationRequest {
  /** Filled as tokens are accepted: the penalties read it. */
  generated: Token[];
  maxTokens: number;
  started: number;
  promptTokens: number;
  /** Tokens generated before this run (a continuation): the detokenizer's context for the first new pieces. */
  earlier: readonly Token[];
}

async function decode(model: LlamaModel, tokens: AsyncGenerator<Token>, job: DecodeContext): Promise<GenerationResult> {
  const tokenIds = job.generated;
  const pending: Token[] = [];
  // node-llama-cpp's JSON grammars end in newlines a model may never stop writing: four of them end the output.
  const grammarStops = job.sampling.format ? [JSON_GRAMMAR_STOP] : [];
  const stops = new StopSequenceScanner([...(job.sampling.stop ?? []), ...grammarStops], { trimWhitespaceSuffix: grammarStops.length > 0 });
  let text = '';
  let firstTokenMs = 0;
  let finishReason: GenerationResult['finishReason'] = 'length';
  let stoppedBySequence = false;
  const emit = (piece: string, ids: number[]): void => {
    if (!piece && !ids.length) return;
    text += piece;
    job.onText?.({ text: piece, tokenIds: ids });
  };
  // The earlier provider streamed its tokens but held back text that could start a stop sequence: held here
  // again, it is found when the stop sequence straddles the failover, and streamed first when it does not.
  if (job.earlier.length && stops.push(model.detokenize([...job.earlier], false)).stopped) {
    return { text, tokenIds, finishReason: 'stop', promptTokens: job.promptTokens, firstTokenMs, totalMs: performance.now() - job.started };
  }
  for await (const token of tokens) {
    if (job.signal?.aborted) {
      finishReason = 'cancelled';
      break;
    }
    if (model.isEogToken(token)) {
      finishReason = 'stop';
      break;
    }
    if (!tokenIds.length) firstTokenMs = performance.now() - job.started;
    tokenIds.push(token);
    pending.push(token);
    const piece = model.detokenize(pending, false, [...job.earlier, ...tokenIds].slice(-pending.length - DETOKENIZE_CONTEXT_TOKENS, -pending.length));
    // A character split across tokens decodes to U+FFFD until its last byte arrives.
    if (piece.endsWith('\uFFFD') && tokenIds.length < job.maxTokens) continue;
    const scan = stops.push(piece);
    emit(scan.emit, pending.splice(0));
    if (scan.stopped) {
      finishReason = 'stop';
      stoppedBySequence = true;
      break;
    }
    if (tokenIds.length >= job.maxTokens) break;
  }
  // Text held as a possible stop sequence's start belongs to the output when the model ended it otherwise.
  if (!stoppedBySequence) emit(stops.flush(), pending.splice(0));
  return { text, tokenIds, finishReason, promptTokens: job.promptTokens, firstTokenMs, totalMs: performance.now() - job.started };
}
