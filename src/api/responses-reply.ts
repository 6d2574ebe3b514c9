// The answer to a Responses request as its job advances: one response object, or the Responses API's named events
// (response.created, response.in_progress, response.output_item.added, response.content_part.added,
// response.output_text.delta ..., and their .done events, then response.completed or response.incomplete). A tool
// call is a function_call output item whose arguments stream as response.function_call_arguments.delta events.
import type { ServerResponse } from 'node:http';
import { npubOf } from '../identity/index.js';
import type { JobOutcome } from '../client/job-client.js';
import type { ApiError } from './api-error.js';
import { EventStream, sendError, sendJson, type ResponseHeaders } from './http-replies.js';
import { logprobsOf, toolCallIdOf } from './openai-responses.js';
import { ReplyTextReader, type ReplyMode } from './reply-text-reader.js';
import type { ConversationMessage, ResponsesRequest } from './responses-requests.js';
import { conversationIdOf } from './conversations.js';
import type { JobReply } from './serve-completion.js';

/** The request's fields a response object echoes, as OpenAI's do. */
export interface ResponseEcho {
  model: string;
  instructions: string | null;
  max_output_tokens: number | null;
  temperature: number;
  top_p: number;
  text: { format: object };
  tools: object[];
  tool_choice: unknown;
  parallel_tool_calls: boolean;
  previous_response_id: string | null;
  /** The conversation the response continues and is added to. */
  conversation: { id: string } | null;
  store: boolean;
  metadata: Record<string, string>;
  user: string | null;
}

export interface ResponsesReplyOptions {
  jobId: string;
  /** The response's id when it is not resp_<job id>: a background response keeps its id across the jobs that run it. */
  responseId?: string;
  /** Unix seconds; now by default. */
  createdAt?: number;
  stream: boolean;
  echo: ResponseEcho;
  /** How the output is read: plain text, a forced call, or text or a call (tool_choice auto). */
  mode: ReplyMode;
  /** Called with the finished response and its output as chat messages, when the request keeps it (store). */
  keep?: (response: Record<string, unknown>, output: ConversationMessage[]) => void;
  /**
   * A background response (`background: true`): its client was answered when it was queued, so its progress and its
   * failure are kept for it to poll, and nothing is sent but the events of a stream.
   */
  background?: BackgroundProgress;
  /** Where a stream's events go when not to `response` alone: a background response's kept, numbered events. */
  events?: ResponseEvents;
}

/** A Responses stream's events, each numbered (`sequence_number`) as it goes out. */
export interface ResponseEvents {
  readonly opened: boolean;
  open(headers: ResponseHeaders): void;
  send(type: string, body: object): void;
  end(): void;
}

/** The events of a response streamed to the client that asked for it. */
class HttpResponseEvents implements ResponseEvents {
  private readonly stream: EventStream;
  private sequence = 0;

  constructor(response: ServerResponse) {
    this.stream = new EventStream(response);
  }

  get opened(): boolean {
    return this.stream.opened;
  }

  open(headers: ResponseHeaders): void {
    this.stream.open(headers);
  }

  send(type: string, body: object): void {
    this.stream.send({ type, sequence_number: this.sequence++, ...body }, type);
  }

  end(): void {
    this.stream.end();
  }
}

export interface BackgroundProgress {
  /** A provider accepted the job: the response is in progress. */
  started(response: Record<string, unknown>): void;
  /** The job failed: the response as it ends (status `failed`, its error), and the failure. */
  failed(response: Record<string, unknown>, error: ApiError): void;
}

/** What a response object says beyond the request's echo. */
export interface ResponseState {
  id: string;
  createdAt: number;
  status: 'queued' | 'in_progress' | 'completed' | 'incomplete' | 'failed' | 'cancelled';
  background: boolean;
  output?: readonly object[];
  usage?: object | null;
  error?: { code: string; message: string } | null;
}

/** A response object as OpenAI's API answers one, at any point of its life. */
export function responseObject(echo: ResponseEcho, state: ResponseState): Record<string, unknown> {
  return {
    id: state.id,
    object: 'response',
    created_at: state.createdAt,
    status: state.status,
    background: state.background,
    error: state.error ?? null,
    incomplete_details: state.status === 'incomplete' ? { reason: 'max_output_tokens' } : null,
    instructions: echo.instructions,
    max_output_tokens: echo.max_output_tokens,
    model: echo.model,
    output: state.output ?? [],
    parallel_tool_calls: echo.parallel_tool_calls,
    previous_response_id: echo.previous_response_id,
    ...(echo.conversation ? { conversation: echo.conversation } : {}),
    reasoning: { effort: null, summary: null },
    service_tier: 'default',
    store: echo.store,
    temperature: echo.temperature,
    text: echo.text,
    tool_choice: echo.tool_choice,
    tools: echo.tools,
    top_p: echo.top_p,
    truncation: 'disabled',
    usage: state.usage ?? null,
    user: echo.user,
    metadata: echo.metadata,
  };
}

/** resp_<job id>: the job's record is found from the response id. */
export const responseIdOf = (jobId: string) => `resp_${jobId.replaceAll('-', '')}`;
const messageIdOf = (jobId: string) => `msg_${jobId.replaceAll('-', '')}`;
const functionCallIdOf = (jobId: string) => `fc_${jobId.replaceAll('-', '')}`;

type OutputItem = Record<string, unknown> & { type: 'message' | 'function_call' };

export class ResponsesReply implements JobReply {
  private readonly headers: ResponseHeaders;
  private readonly stream?: ResponseEvents;
  private readonly reader: ReplyTextReader;
  private readonly createdAt: number;
  /** A provider accepted the job: a background response was told, a stream sent response.in_progress (a background stream its response.created when it was queued). */
  private inProgress = false;
  /** The streamed output item, once its kind is known. */
  private item?: OutputItem;
  private streamedText = '';
  private streamedArguments = '';

  /** `response` is the client's HTTP response; null for a background response nobody waits on. */
  constructor(
    private readonly response: ServerResponse | null,
    private readonly options: ResponsesReplyOptions,
  ) {
    const { jobId } = options;
    this.headers = { 'x-infernet-job-id': jobId, 'x-request-id': jobId };
    if (options.stream) this.stream = options.events ?? (response ? new HttpResponseEvents(response) : undefined);
    this.reader = new ReplyTextReader(options.mode);
    this.createdAt = options.createdAt ?? Math.floor(Date.now() / 1000);
  }

  get id(): string {
    return this.options.responseId ?? responseIdOf(this.options.jobId);
  }

  matched(_index: number, providerPublicKey: string): void {
    this.headers['x-infernet-provider'] = npubOf(providerPublicKey);
  }

  /** The stream opens when the provider accepts: a refusal before it is still an HTTP error status. */
  accepted(): void {
    if (this.inProgress) return;
    this.inProgress = true;
    const response = this.responseObject('in_progress', [], null);
    this.options.background?.started(response);
    const { stream } = this;
    if (!stream) return;
    if (!stream.opened) {
      stream.open(this.headers);
      this.send('response.created', { response });
    }
    this.send('response.in_progress', { response });
  }

  text(_index: number, text: string): void {
    if (!this.stream) return;
    this.accepted();
    for (const piece of this.reader.push(text)) {
      if ('text' in piece) {
        this.startMessage();
        this.streamedText += piece.text;
        this.send('response.output_text.delta', { item_id: this.item!.id, output_index: 0, content_index: 0, delta: piece.text, logprobs: [] });
      } else if ('name' in piece) {
        this.item = { type: 'function_call', id: functionCallIdOf(this.options.jobId), call_id: toolCallIdOf(this.options, 0), name: piece.name, arguments: '', status: 'in_progress' };
        this.send('response.output_item.added', { output_index: 0, item: this.item });
      } else {
        this.streamedArguments += piece.arguments;
        this.send('response.function_call_arguments.delta', { item_id: this.item!.id, output_index: 0, delta: piece.arguments });
      }
    }
  }

  private startMessage(): void {
    if (this.item) return;
    this.item = { type: 'message', id: messageIdOf(this.options.jobId), status: 'in_progress', role: 'assistant', content: [] };
    this.send('response.output_item.added', { output_index: 0, item: this.item });
    this.send('response.content_part.added', { item_id: this.item.id, output_index: 0, content_index: 0, part: { type: 'output_text', text: '', annotations: [], logprobs: [] } });
  }

  choiceDone(): void {}

  finish(outcomes: JobOutcome[]): void {
    const outcome = outcomes[0]!;
    const read = this.reader.end(outcome.output);
    const complete = read.call !== undefined || outcome.finishReason !== 'length';
    const status = complete ? 'completed' : 'incomplete';
    // include message.output_text.logprobs: the provider's, which come with its signed result (so at the end of a stream).
    const logprobs = outcome.logprobs ? (logprobsOf('chat', outcome.logprobs) as { content: object[] }).content : [];
    const item: OutputItem = read.call
      ? { type: 'function_call', id: functionCallIdOf(this.options.jobId), call_id: toolCallIdOf(this.options, 0), name: read.call.name, arguments: read.call.arguments, status: 'completed' }
      : { type: 'message', id: messageIdOf(this.options.jobId), status, role: 'assistant', content: [{ type: 'output_text', text: read.text, annotations: [], logprobs }] };
    const usage = { input_tokens: outcome.promptTokens, input_tokens_details: { cached_tokens: 0 }, output_tokens: outcome.tokens, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: outcome.promptTokens + outcome.tokens };
    const response = this.responseObject(status, [item], usage);
    this.options.keep?.(response, [read.call ? { role: 'assistant', content: null, tool_calls: [{ id: item.call_id, type: 'function', function: { name: read.call.name, arguments: read.call.arguments } }] } : { role: 'assistant', content: read.text }]);
    const { stream } = this;
    if (!stream) {
      if (!this.options.background) sendJson(this.response!, 200, response, this.headers);
      return;
    }
    this.accepted();
    this.closeStreamedItem(item, read.text, logprobs);
    this.send(complete ? 'response.completed' : 'response.incomplete', { response });
    stream.end();
  }

  /** The .done events of the item that streamed; a call cut short by the budget ends as the text it was. */
  private closeStreamedItem(item: OutputItem, text: string, logprobs: object[]): void {
    const streamed = this.item;
    if (streamed?.type === 'function_call') {
      const done = item.type === 'function_call' ? item : { ...streamed, status: 'incomplete' };
      const args = item.type === 'function_call' ? (item.arguments as string) : this.streamedArguments;
      this.send('response.function_call_arguments.done', { item_id: streamed.id, output_index: 0, name: streamed.name, arguments: args });
      this.send('response.output_item.done', { output_index: 0, item: { ...done, arguments: args } });
      return;
    }
    // Nothing streamed (an empty answer): the message still opens and closes, as OpenAI's do.
    this.startMessage();
    // Text the reader held back (a possible call's start that never became one) goes out before the .done events.
    if (text.length > this.streamedText.length && text.startsWith(this.streamedText)) {
      this.send('response.output_text.delta', { item_id: this.item!.id, output_index: 0, content_index: 0, delta: text.slice(this.streamedText.length), logprobs: [] });
    }
    const part = { type: 'output_text', text, annotations: [], logprobs };
    this.send('response.output_text.done', { item_id: this.item!.id, output_index: 0, content_index: 0, text, logprobs });
    this.send('response.content_part.done', { item_id: this.item!.id, output_index: 0, content_index: 0, part });
    this.send('response.output_item.done', { output_index: 0, item: item.type === 'message' ? item : { ...this.item!, status: 'completed', content: [part] } });
  }

  /** Before the stream opened: an HTTP error status; after: the Responses API's error event, which the SDK raises. */
  fail(error: ApiError): void {
    // A background response's runner decides whether it ends failed (its stream with it) or waits for a provider.
    if (this.options.background) return this.options.background.failed(this.responseObject('failed', [], null, { code: error.apiCode ?? error.type, message: error.message }), error);
    if (this.stream?.opened) {
      this.send('error', { code: error.apiCode, message: error.message, param: error.param });
      return this.stream.end();
    }
    sendError(this.response!, error, this.headers);
  }

  private send(type: string, body: object): void {
    this.stream!.send(type, body);
  }

  private responseObject(status: ResponseState['status'], output: OutputItem[], usage: object | null, error: ResponseState['error'] = null): Record<string, unknown> {
    return responseObject(this.options.echo, { id: this.id, createdAt: this.createdAt, status, background: this.options.background !== undefined, output, usage, error });
  }
}

/** The request's fields its response objects echo. */
export function echoOf(request: ResponsesRequest): ResponseEcho {
  return {
    model: request.model,
    instructions: request.instructions ?? null,
    max_output_tokens: request.max_output_tokens ?? null,
    temperature: request.temperature ?? 1,
    top_p: request.top_p ?? 1,
    text: { format: request.text?.format ?? { type: 'text' } },
    tools: (request.tools ?? []).map((tool) => ({ type: 'function', name: tool.name, description: tool.description ?? null, parameters: tool.parameters ?? null, strict: tool.strict !== false })),
    tool_choice: request.tool_choice ?? 'auto',
    parallel_tool_calls: request.parallel_tool_calls ?? true,
    previous_response_id: request.previous_response_id ?? null,
    conversation: conversationIdOf(request) ? { id: conversationIdOf(request)! } : null,
    store: request.store !== false,
    metadata: request.metadata ?? {},
    user: request.user ?? null,
  };
}
