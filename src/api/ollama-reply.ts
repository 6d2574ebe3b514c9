// The answer to an Ollama /api/generate or /api/chat request as its job advances: newline-delimited JSON objects
// (Ollama streams by default), or one object with `stream: false`. Errors are Ollama's `{"error": "..."}`.
import type { ServerResponse } from 'node:http';
import { npubOf } from '../identity/index.js';
import type { JobOutcome } from '../client/job-client.js';
import type { ApiError } from './api-error.js';
import { sendJson, type ResponseHeaders } from './http-replies.js';
import { ReplyTextReader } from './reply-text-reader.js';
import type { JobReply } from './serve-completion.js';

export type OllamaKind = 'generate' | 'chat';

export const ollamaErrorBody = (error: ApiError) => ({ error: error.message });

const NS_PER_MS = 1e6;

export interface OllamaReplyOptions {
  kind: OllamaKind;
  model: string;
  stream: boolean;
  jobId: string;
  /** A chat with tools: the model answered in text or called one (read as under OpenAI's tool_choice auto). */
  tools?: boolean;
}

export class OllamaReply implements JobReply {
  private readonly headers: ResponseHeaders;
  private readonly reader: ReplyTextReader;

  constructor(
    private readonly response: ServerResponse,
    private readonly options: OllamaReplyOptions,
  ) {
    this.headers = { 'x-infernet-job-id': options.jobId, 'x-request-id': options.jobId };
    this.reader = new ReplyTextReader(options.tools ? 'auto' : 'text');
  }

  matched(_index: number, providerPublicKey: string): void {
    this.headers['x-infernet-provider'] = npubOf(providerPublicKey);
  }

  accepted(): void {
    if (!this.options.stream || this.response.headersSent || this.response.destroyed) return;
    this.response.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-cache', ...this.headers });
    this.response.socket?.setNoDelay(true);
  }

  /** Text streams as it comes; a call goes out whole once the job ends, as Ollama sends its tool_calls. */
  text(_index: number, text: string): void {
    if (!this.options.stream) return;
    this.accepted();
    for (const piece of this.reader.push(text)) if ('text' in piece) this.line({ ...this.head(), ...this.content(piece.text), done: false });
  }

  choiceDone(): void {}

  finish(outcomes: JobOutcome[]): void {
    const outcome = outcomes[0]!;
    const { call, text } = this.reader.end(outcome.output);
    const toolCalls = call ? [{ function: { name: call.name, arguments: call.input } }] : undefined;
    if (this.options.stream && toolCalls) {
      this.accepted();
      this.line({ ...this.head(), message: { role: 'assistant', content: '', tool_calls: toolCalls }, done: false });
    }
    const last = {
      ...this.head(),
      ...this.content(this.options.stream ? '' : call ? '' : text, this.options.stream ? undefined : toolCalls),
      done: true,
      done_reason: outcome.finishReason === 'length' ? 'length' : 'stop',
      total_duration: Math.round(outcome.totalMs * NS_PER_MS),
      load_duration: 0,
      prompt_eval_count: outcome.promptTokens,
      prompt_eval_duration: Math.round(outcome.firstTokenMs * NS_PER_MS),
      eval_count: outcome.tokens,
      eval_duration: Math.round(Math.max(0, outcome.lastTokenMs - outcome.firstTokenMs) * NS_PER_MS),
    };
    if (!this.options.stream) return sendJson(this.response, 200, last, this.headers);
    this.accepted();
    this.line(last);
    this.response.end();
  }

  /** Before the stream opened: an HTTP error status; after: Ollama's error line, as its clients read it. */
  fail(error: ApiError): void {
    if (!this.response.headersSent) return sendJson(this.response, error.status, ollamaErrorBody(error), this.headers);
    if (!this.response.destroyed) this.response.end(`${JSON.stringify(ollamaErrorBody(error))}\n`);
  }

  private head() {
    return { model: this.options.model, created_at: new Date().toISOString() };
  }

  private content(text: string, toolCalls?: object[]) {
    return this.options.kind === 'chat' ? { message: { role: 'assistant', content: text, ...(toolCalls ? { tool_calls: toolCalls } : {}) } } : { response: text };
  }

  private line(object: object): void {
    if (!this.response.destroyed) this.response.write(`${JSON.stringify(object)}\n`);
  }
}
