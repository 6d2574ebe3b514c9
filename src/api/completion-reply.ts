// The answer to one completion request as its job advances: one JSON object at the end, or a server-sent event
// stream opened when the provider accepts. Holds the headers that name the job and its provider.
import type { ServerResponse } from 'node:http';
import { npubOf } from '../identity/index.js';
import type { JobOutcome } from '../client/job-client.js';
import type { ApiError } from './api-error.js';
import type { JobReply } from './serve-completion.js';
import { EventStream, sendError, sendJson, type ResponseHeaders } from './http-replies.js';
import { completionChunk, completionResponse, finishReasonOf, toolCallIdOf, usageChunk, type ResponseContext } from './openai-responses.js';
import { ReplyTextReader } from './reply-text-reader.js';

export interface CompletionReplyOptions {
  context: ResponseContext;
  stream: boolean;
  includeUsage: boolean;
  /** Called with the whole completion before its end goes out, when the request asks it stored (`store: true`). */
  keep?: (completion: Record<string, unknown> & { id: string; model: string }) => void;
}

export class CompletionReply implements JobReply {
  private readonly headers: ResponseHeaders;
  private readonly stream?: EventStream;

  constructor(
    private readonly response: ServerResponse,
    private readonly options: CompletionReplyOptions,
  ) {
    const { jobId } = options.context;
    this.headers = { 'x-infernet-job-id': jobId, 'x-request-id': jobId };
    if (options.stream) this.stream = new EventStream(response);
  }

  /** The headers name the first choice's job and provider: they go out before the other choices run. */
  matched(index: number, providerPublicKey: string): void {
    if (index === 0) this.headers['x-infernet-provider'] = npubOf(providerPublicKey);
  }

  /** The status line waits for the provider's accept, so a refusal before it can still be an HTTP error status. */
  accepted(index: number): void {
    const { stream } = this;
    if (!stream) return;
    if (!stream.opened) stream.open(this.headers);
    if (this.options.context.kind === 'chat' && !this.roleSent.has(index)) {
      this.roleSent.add(index);
      stream.send(completionChunk(this.options.context, { index, role: 'assistant', text: '' }));
    }
  }

  private readonly roleSent = new Set<number>();
  /** Per choice: a call's text streams as tool_calls deltas, an answer as content. */
  private readonly readers = new Map<number, ReplyTextReader>();

  private readerOf(index: number): ReplyTextReader {
    let reader = this.readers.get(index);
    if (!reader) this.readers.set(index, (reader = new ReplyTextReader(this.options.context.kind === 'chat' ? (this.options.context.mode ?? 'text') : 'text')));
    return reader;
  }

  text(index: number, text: string): void {
    if (!this.stream) return;
    this.accepted(index);
    const { context } = this.options;
    for (const piece of this.readerOf(index).push(text)) {
      if ('text' in piece) this.stream.send(completionChunk(context, { index, text: piece.text }));
      else this.stream.send(completionChunk(context, { index, toolCall: 'name' in piece ? { id: toolCallIdOf(context, index), name: piece.name } : piece }));
    }
  }

  choiceDone(index: number, outcome: JobOutcome): void {
    const { context } = this.options;
    if (!this.stream) return;
    const called = this.readerOf(index).end(outcome.output).call !== undefined;
    this.stream.send(completionChunk(context, { index, ...(context.kind === 'text' ? { text: '' } : {}), finish: called ? 'tool_calls' : finishReasonOf(outcome), ...(outcome.logprobs ? { logprobs: outcome.logprobs } : {}) }));
  }

  finish(outcomes: JobOutcome[]): void {
    const { context, includeUsage, keep } = this.options;
    const whole = !this.stream || keep ? (completionResponse(context, outcomes) as Record<string, unknown> & { id: string; model: string }) : undefined;
    if (whole) keep?.(whole);
    if (!this.stream) return sendJson(this.response, 200, whole!, this.headers);
    if (includeUsage) this.stream.send(usageChunk(context, outcomes));
    this.stream.done();
  }

  fail(error: ApiError): void {
    if (this.stream?.opened) this.stream.fail(error);
    else sendError(this.response, error, this.headers);
  }
}
