// The answer to one completion request as its job advances: one JSON object at the end, or a server-sent event
// stream opened when the provider accepts. Holds the headers that name the job and its provider.
import type { ServerResponse } from 'node:http';
import { npubOf } from '../identity/index.js';
import type { JobOutcome } from '../node/job-client.js';
import type { ApiError } from './api-error.js';
import type { JobReply } from './serve-completion.js';
import { EventStream, sendError, sendJson, type ResponseHeaders } from './http-replies.js';
import { completionChunk, completionResponse, finishReasonOf, toolCallIdOf, usageChunk, type ResponseContext } from './openai-responses.js';
import { ToolCallParser } from './tool-call-parser.js';

export interface CompletionReplyOptions {
  context: ResponseContext;
  stream: boolean;
  includeUsage: boolean;
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
  /** Per choice, when a tool call was forced: its text streams as tool_calls deltas. */
  private readonly toolCalls = new Map<number, ToolCallParser>();

  text(index: number, text: string): void {
    if (!this.stream) return;
    this.accepted(index);
    const { context } = this.options;
    if (!context.toolCall) return this.stream.send(completionChunk(context, { index, text }));
    let parser = this.toolCalls.get(index);
    if (!parser) this.toolCalls.set(index, (parser = new ToolCallParser()));
    for (const piece of parser.push(text)) {
      this.stream.send(completionChunk(context, { index, toolCall: 'name' in piece ? { id: toolCallIdOf(context, index), name: piece.name } : piece }));
    }
  }

  choiceDone(index: number, outcome: JobOutcome): void {
    const { context } = this.options;
    if (!this.stream) return;
    const called = context.toolCall && this.toolCalls.get(index)?.end() !== undefined;
    this.stream.send(completionChunk(context, { index, ...(context.kind === 'text' ? { text: '' } : {}), finish: called ? 'tool_calls' : finishReasonOf(outcome), ...(outcome.logprobs ? { logprobs: outcome.logprobs } : {}) }));
  }

  finish(outcomes: JobOutcome[]): void {
    const { context, includeUsage } = this.options;
    if (!this.stream) return sendJson(this.response, 200, completionResponse(context, outcomes), this.headers);
    if (includeUsage) this.stream.send(usageChunk(context, outcomes));
    this.stream.done();
  }

  fail(error: ApiError): void {
    if (this.stream?.opened) this.stream.fail(error);
    else sendError(this.response, error, this.headers);
  }
}
