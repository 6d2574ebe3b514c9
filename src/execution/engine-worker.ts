// The warm engine process, run in a long-lived sandboxed container (or as a child process): it loads one model once
// and runs every job the host sends it on its own sequence of one llama.cpp context, so up to `slots` jobs decode
// together. JSON lines in on stdin, JSON lines out on stdout (engine-worker-protocol.ts); anything else it prints
// goes to stderr. It exits when the host closes its stdin.
// First: the thread pool's size is read at its first use (one-thread-pool-thread.ts says why).
import './one-thread-pool-thread.js';
import { createInterface } from 'node:readline';
import { InvalidGrammarError, LlamaCppEngine, PromptTooLongError } from '../inference/index.js';
import type { EngineEmbedRequest, EngineErrorMessage, EngineGenerateRequest, EngineLoadRequest, EngineMessage, EngineRequest } from './engine-worker-protocol.js';
// Its own module, not protocol/index.js: the worker's image carries no zod.
import { encodeEmbeddingVector } from '../protocol/embedding-vectors.js';

console.log = console.error;
console.info = console.error;
console.debug = console.error;

function send(message: EngineMessage): void {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

function errorMessage(error: unknown, id?: string): EngineErrorMessage {
  const { name, message } = error instanceof Error ? error : { name: 'Error', message: String(error) };
  const sizes = error instanceof PromptTooLongError ? { promptTokens: error.promptTokens, contextSize: error.contextSize } : {};
  return { type: 'error', ...(id !== undefined ? { id } : {}), name: error instanceof InvalidGrammarError ? 'InvalidGrammarError' : name, message: message.slice(0, 16_000), ...sizes };
}

let engine: LlamaCppEngine | undefined;
let loaded: Promise<void> | undefined;
let modelPath = '';
const running = new Map<string, AbortController>();

async function load(request: EngineLoadRequest): Promise<void> {
  const started = performance.now();
  modelPath = request.modelPath;
  engine = new LlamaCppEngine({ threads: request.threads, contextSize: request.contextSize, slots: request.slots, gpu: request.gpu, ...(request.gpuLayers !== undefined ? { gpuLayers: request.gpuLayers } : {}), reusePrefixes: true });
  try {
    const placement = await engine.placementOf(modelPath);
    send({ type: 'loaded', loadMs: performance.now() - started, ...placement });
  } catch (error) {
    send(errorMessage(error));
    // A model that does not load leaves nothing to serve: the host sees the exit and keeps the error.
    process.exit(1);
  }
}

async function generate(request: EngineGenerateRequest): Promise<void> {
  const cancel = new AbortController();
  running.set(request.id, cancel);
  try {
    await loaded;
    const result = await engine!.generate({
      modelPath,
      input: request.input,
      sampling: request.sampling,
      signal: cancel.signal,
      ...(request.fingerprintTopK !== undefined ? { fingerprintTopK: request.fingerprintTopK } : {}),
      ...(request.logprobsTopK !== undefined ? { logprobsTopK: request.logprobsTopK } : {}),
      ...(request.continueFrom ? { continueFrom: request.continueFrom } : {}),
      onText: (piece) => send({ type: 'text', id: request.id, text: piece.text, tokenIds: piece.tokenIds }),
    });
    // The running total, not this job's share: jobs decode together, and the host keeps the latest total.
    send({ type: 'result', id: request.id, ...result, reusedPromptTokens: engine!.reusedPromptTokens });
  } catch (error) {
    send(errorMessage(error, request.id));
  } finally {
    running.delete(request.id);
  }
}

async function embed(request: EngineEmbedRequest): Promise<void> {
  const cancel = new AbortController();
  running.set(request.id, cancel);
  try {
    await loaded;
    const result = await engine!.embed({ modelPath, texts: request.texts, signal: cancel.signal, ...(request.maxValues !== undefined ? { maxValues: request.maxValues } : {}) });
    send({ type: 'embedded', id: request.id, dimensions: result.dimensions, vectors: result.vectors.map(encodeEmbeddingVector), promptTokens: result.promptTokens, totalMs: result.totalMs });
  } catch (error) {
    send(errorMessage(error, request.id));
  } finally {
    running.delete(request.id);
  }
}

function handle(line: string): void {
  let request: EngineRequest;
  try {
    request = JSON.parse(line) as EngineRequest;
  } catch (error) {
    send(errorMessage(new Error(`a request line is not JSON: ${(error as Error).message}`)));
    return;
  }
  if (request.type === 'load') loaded ??= load(request);
  else if (request.type === 'generate') void generate(request);
  else if (request.type === 'embed') void embed(request);
  else if (request.type === 'cancel') running.get(request.id)?.abort();
}

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
lines.on('line', handle);
// Exit without disposing the model: the sandbox is removed right after, and disposal only adds latency.
lines.on('close', () => process.exit(0));
