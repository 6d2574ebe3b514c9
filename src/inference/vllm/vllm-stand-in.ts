// A stand-in for vLLM's OpenAI-compatible server, for tests on machines where vLLM cannot run (no GPU, no image):
// the subset VllmEngine speaks (/health, /v1/models, /tokenize, /detokenize, streamed /v1/completions with logprobs
// and "token_id:N" tokens, stop strings held back and cut as vLLM does), generating words deterministically from the
// whole context so a continuation fed the earlier tokens goes on exactly as an uninterrupted run. It is not vLLM:
// every test that uses it says so in its name. Run as a script it takes `vllm serve`'s arguments and stands in for it.
import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';

/** What the stand-in's GET /version answers: never a vLLM release, so its results never pass for vLLM's. */
export const STAND_IN_VERSION = '0.0.0-stand-in';
export const STAND_IN_BOS = 1;
export const STAND_IN_EOS = 2;
/** Byte b of a prompt is token b + BYTE_BASE; the generated words come after the bytes. */
const BYTE_BASE = 3;
const WORD_BASE = BYTE_BASE + 256;
const WORDS = [' the', ' cat', ' sat', ' on', ' a', ' warm', ' mat', ' and', ' dreamed', ' of', ' fish', ' under', ' blue', ' sky', '.', ' Then', ' it', ' slept', ' é', ' while'];
/** Alternatives the stand-in ranks at each step (vLLM's default max_logprobs). */
const CANDIDATES = 20;
const MAX_BODY_BYTES = 1 << 20;

export interface VllmStandInOptions {
  host?: string;
  port?: number;
  servedName?: string;
  maxModelLength?: number;
  /** Delay between streamed tokens, so a test can abort or kill mid-stream. */
  tokenDelayMs?: number;
  /** Milliseconds before /health answers 200 (vLLM loading its model). */
  startupDelayMs?: number;
}

export type StandInFailure = 'status' | 'mid-stream';

export interface VllmStandIn {
  baseUrl: string;
  /** The bodies of the completion requests received, in order. */
  readonly completions: Record<string, unknown>[];
  /** Completion streams whose client went away before the last chunk. */
  readonly cancelled: number;
  /** The next completion fails: with HTTP 500, or with an error event after its first token. */
  failNext(mode: StandInFailure): void;
  close(): Promise<void>;
}

export async function startVllmStandIn(options: VllmStandInOptions = {}): Promise<VllmStandIn> {
  const state = { completions: [] as Record<string, unknown>[], cancelled: 0, failNext: undefined as StandInFailure | undefined, readyAt: Date.now() + (options.startupDelayMs ?? 0) };
  const servedName = options.servedName ?? 'stand-in';
  const maxModelLength = options.maxModelLength ?? 4096;
  const server = createServer((request, response) => {
    handle(request, response).catch((error: Error) => {
      if (!response.headersSent) send(response, 500, { error: { message: error.message, type: 'InternalServerError', code: 500 } });
      else response.destroy();
    });
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = request.url ?? '/';
    if (request.method === 'GET' && path === '/health') return send(response, Date.now() >= state.readyAt ? 200 : 503, {});
    if (request.method === 'GET' && path === '/version') return send(response, 200, { version: STAND_IN_VERSION });
    if (request.method === 'GET' && path === '/v1/models') return send(response, 200, { object: 'list', data: [{ id: servedName, object: 'model', max_model_len: maxModelLength }] });
    if (request.method === 'GET' && path === '/stand-in/requests') return send(response, 200, { completions: state.completions, cancelled: state.cancelled });
    if (request.method !== 'POST') return send(response, 404, { error: { message: `no route ${path}`, code: 404 } });
    const body = await readJson(request);
    if (path === '/stand-in/fail') {
      state.failNext = body.mode as StandInFailure;
      return send(response, 200, {});
    }
    if (body.model !== undefined && body.model !== servedName) return send(response, 404, { error: { message: `The model \`${String(body.model)}\` does not exist.`, type: 'NotFoundError', code: 404 } });
    if (path === '/tokenize') {
      const tokens = 'messages' in body ? tokenizeText(renderChat(body.messages as { role: string; content: string }[]), true) : tokenizeText(String(body.prompt), body.add_special_tokens !== false);
      return send(response, 200, { count: tokens.length, max_model_len: maxModelLength, tokens });
    }
    if (path === '/detokenize') return send(response, 200, { prompt: detokenize(body.tokens as number[]) });
    if (path === '/v1/completions') return complete(body, response);
    return send(response, 404, { error: { message: `no route ${path}`, code: 404 } });
  }

  async function complete(body: Record<string, unknown>, response: ServerResponse): Promise<void> {
    state.completions.push(body);
    const failure = state.failNext;
    state.failNext = undefined;
    if (failure === 'status') return send(response, 500, { error: { message: 'the stand-in was told to fail', type: 'InternalServerError', code: 500 } });
    const prompt = body.prompt as number[];
    const maxTokens = Number(body.max_tokens ?? 16);
    if (!Array.isArray(prompt) || !body.stream) return send(response, 400, { error: { message: 'the stand-in takes token-id prompts, streamed', code: 400 } });
    if (prompt.length + maxTokens > maxModelLength) {
      return send(response, 400, { error: { message: `This model's maximum context length is ${maxModelLength} tokens. However, you requested ${prompt.length + maxTokens} tokens`, type: 'BadRequestError', code: 400 } });
    }
    const stops = (body.stop as string[] | undefined) ?? [];
    const topK = body.logprobs === undefined || body.logprobs === null ? undefined : Number(body.logprobs);
    const eosAfter = /\[eos after (\d+)\]/.exec(detokenize(prompt))?.[1];
    response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    let finished = false;
    response.on('close', () => {
      if (!finished) state.cancelled++;
    });
    const context = [...prompt];
    // vLLM holds back the last (longest stop - 1) characters while streaming, so no stop string's start is sent.
    const holdBack = stops.length ? Math.max(...stops.map((stop) => stop.length)) - 1 : 0;
    let text = '';
    let sent = 0;
    for (let generated = 0; ; ) {
      if (response.destroyed) return;
      if (options.tokenDelayMs) await new Promise((resolve) => setTimeout(resolve, options.tokenDelayMs));
      if (response.destroyed) return;
      const ranked = rankedCandidates(context);
      const token = eosAfter !== undefined && generated >= Number(eosAfter) ? STAND_IN_EOS : ranked[0]![0];
      context.push(token);
      generated++;
      text += token === STAND_IN_EOS ? '' : detokenize([token]);
      let finishReason: string | null = null;
      let stopReason: string | number | null = null;
      const hit = stops.map((stop) => [stop, text.indexOf(stop)] as const).filter(([, at]) => at >= 0).sort((a, b) => a[1] - b[1])[0];
      if (hit) [text, finishReason, stopReason] = [text.slice(0, hit[1]), 'stop', hit[0]];
      else if (token === STAND_IN_EOS) finishReason = 'stop';
      else if (generated >= maxTokens) finishReason = 'length';
      const upTo = finishReason ? text.length : Math.max(sent, text.length - holdBack);
      const delta = text.slice(sent, upTo);
      sent = upTo;
      const logprobs = topK === undefined ? null : logprobsOf(token, ranked, topK, body.return_tokens_as_token_ids === true);
      write(response, { id: 'cmpl-stand-in', object: 'text_completion', created: 0, model: servedName, choices: [{ index: 0, text: delta, logprobs, finish_reason: finishReason, stop_reason: stopReason }] });
      if (failure === 'mid-stream') {
        write(response, { error: { message: 'the stand-in was told to fail mid-stream', type: 'InternalServerError', code: 500 } });
        finished = true;
        response.end('data: [DONE]\n\n');
        return;
      }
      if (finishReason) break;
    }
    finished = true;
    response.end('data: [DONE]\n\n');
  }

  await new Promise<void>((resolve, reject) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve).once('error', reject));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    completions: state.completions,
    get cancelled() {
      return state.cancelled;
    },
    failNext: (mode) => void (state.failNext = mode),
    close: () => closeServer(server),
  };
}

/** The candidates at this step, most likely first, each with its logprob: a function of the whole context only. */
function rankedCandidates(context: readonly number[]): [number, number][] {
  let hash = 2166136261;
  for (const token of context) hash = Math.imul(hash ^ token, 16777619) >>> 0;
  const first = hash % WORDS.length;
  return Array.from({ length: CANDIDATES }, (_, rank) => [WORD_BASE + ((first + rank) % WORDS.length), -0.05 - rank * 0.75 - (hash % 7) / 100]);
}

/** As vLLM's completions logprobs: the sampled token first, then the top k, deduplicated, at most k + 1 entries. */
function logprobsOf(token: number, ranked: [number, number][], k: number, asIds: boolean): Record<string, unknown> {
  const name = (id: number) => (asIds ? `token_id:${id}` : detokenize([id]));
  const chosen = token === STAND_IN_EOS ? -0.01 : (ranked.find(([id]) => id === token)?.[1] ?? -9999);
  const top = new Map<string, number>([[name(token), chosen]]);
  for (const [id, logprob] of ranked.slice(0, k)) top.set(name(id), logprob);
  return { text_offset: [0], token_logprobs: [chosen], tokens: [name(token)], top_logprobs: [Object.fromEntries([...top].slice(0, k + 1))] };
}

function tokenizeText(text: string, addSpecial: boolean): number[] {
  return [...(addSpecial ? [STAND_IN_BOS] : []), ...[...Buffer.from(text, 'utf8')].map((byte) => byte + BYTE_BASE)];
}

function renderChat(messages: { role: string; content: string }[]): string {
  return `${messages.map((message) => `<|${message.role}|>${message.content}\n`).join('')}<|assistant|>`;
}

function detokenize(tokens: readonly number[]): string {
  const bytes: number[] = [];
  let text = '';
  for (const token of tokens) {
    if (token >= BYTE_BASE && token < WORD_BASE) bytes.push(token - BYTE_BASE);
    else if (token >= WORD_BASE) {
      text += Buffer.from(bytes.splice(0)).toString('utf8') + (WORDS[token - WORD_BASE] ?? '');
    }
  }
  return text + Buffer.from(bytes).toString('utf8');
}

function write(response: ServerResponse, data: unknown): void {
  response.write(`data: ${JSON.stringify(data)}\n\n`);
}

function send(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

async function readJson(request: IncomingMessage): Promise<Record<string, unknown>> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new Error('request body too large');
    chunks.push(chunk);
  }
  return chunks.length ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>) : {};
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** `vllm serve`'s arguments this stand-in reads; the rest (--gpu-memory-utilization, ...) are accepted and ignored. */
export function standInOptionsOf(argv: readonly string[]): VllmStandInOptions {
  const value = (flag: string) => {
    const at = argv.indexOf(flag);
    return at >= 0 ? argv[at + 1] : undefined;
  };
  const port = value('--port');
  const maxModelLength = value('--max-model-len');
  const servedName = value('--served-model-name');
  const host = value('--host');
  return {
    ...(port !== undefined ? { port: Number(port) } : {}),
    ...(maxModelLength !== undefined ? { maxModelLength: Number(maxModelLength) } : {}),
    ...(servedName !== undefined ? { servedName } : {}),
    ...(host !== undefined ? { host } : {}),
    tokenDelayMs: Number(process.env.VLLM_STAND_IN_TOKEN_DELAY_MS ?? 0),
    startupDelayMs: Number(process.env.VLLM_STAND_IN_STARTUP_MS ?? 0),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  // As a child process: `node vllm-stand-in.js [serve] <model> --served-model-name n --host h --port p ...`.
  if (process.env.VLLM_STAND_IN_EXIT_AT_START) {
    process.stderr.write(`stand-in: ${process.env.VLLM_STAND_IN_EXIT_AT_START}\n`);
    process.exit(3);
  }
  if (process.env.VLLM_STAND_IN_WORKER) {
    // As vLLM's engine core: a process of the server's own, which must not outlive it holding the GPU.
    const worker = spawn(process.execPath, ['-e', 'setInterval(() => undefined, 60_000)'], { stdio: 'ignore' });
    process.stdout.write(`stand-in worker pid ${worker.pid}\n`);
  }
  const standIn = await startVllmStandIn(standInOptionsOf(process.argv.slice(2)));
  process.stdout.write(`stand-in vLLM server listening at ${standIn.baseUrl}\n`);
  process.once('SIGTERM', () => void standIn.close().then(() => process.exit(0)));
}
