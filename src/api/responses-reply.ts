// The answer to a Responses request as its job advances: one response object, or the Responses API's named events
// (response.created, response.in_progress, response.output_item.added, response.content_part.added,
// response.output_text.delta ..., and their .done events, then response.completed or response.incomplete). A tool
// call is a function_call output item whose arguments stream as response.function_call_arguments.delta events.
import type { ServerResponse } from 'node:http';
import { npubOf } from '../identity/index.js';
import type { JobOutcome } from '../client/job-client.js';
import type { ApiError } from './api-error.js';
import { EventStream, sendError, sendJson, type ResponseHeaders } from './http-replies.js';
import { toolCallIdOf } from './openai-responses.js';
import { ReplyTextReader, type ReplyMode } from './reply-text-reader.js';
import type { ConversationMessage } from './responses-requests.js';
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
  store: boolean;
  metadata: Record<string, string>;
  user: string | null;
}

export interface ResponsesReplyOptions {
  jobId: string;
  stream: boolean;
  echo: ResponseEcho;
  /** How the output is read: plain text, a forced call, or text or a call (tool_choice auto). */
  mode: ReplyMode;
  /** Called with the finished response and its output as chat messages, when the request keeps it (store). */
  keep?: (response: Record<string, unknown>, output: ConversationMessage[]) => void;
}

/** resp_<job id>: the job's record is found from the response id. */
export const responseIdOf = (jobId: string) => `resp_${jobId.replaceAll('-', '')}`;
const messageIdOf = (jobId: string) => `msg_${jobId.replaceAll('-', '')}`;
const functionCallIdOf = (jobId: string) => `fc_${jobId.replaceAll('-', '')}`;

type OutputItem = Record<string, unknown> & { type: 'message' | 'function_call' };

export class ResponsesReply implements JobReply {
  private readonly headers: ResponseHeaders;
  private readonly stream?: EventStream;
  private readonly reader: ReplyTextReader;
  private readonly createdAt = Math.floor(Date.now() / 1000);
  private sequence = 0;
  /** The streamed output item, once its kind is known. */
  private item?: OutputItem;
  private streamedText = '';
  private streamedArguments = '';

  constructor(
    private readonly response: ServerResponse,
    private readonly options: ResponsesReplyOptions,
  ) {
    const { jobId } = options;
    this.headers = { 'x-infernet-job-id': jobId, 'x-request-id': jobId };
    if (options.stream) this.stream = new EventStream(response);
    this.reader = new ReplyTextReader(options.mode);
  }

  get id(): string {
    return responseIdOf(this.options.jobId);
  }

  matched(_index: number, providerPublicKey: string): void {
    this.headers['x-infernet-provider'] = npubOf(providerPublicKey);
  }

  /** The stream opens when the provider accepts: a refusal before it is still an HTTP error status. */
  accepted(): void {
    const { stream } = this;
    if (!stream || stream.opened) return;
    stream.open(this.headers);
    const response = this.responseObject('in_progress', [], null);
    this.send('response.created', { response });
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
    const item: OutputItem = read.call
      ? { type: 'function_call', id: functionCallIdOf(this.options.jobId), call_id: toolCallIdOf(this.options, 0), name: read.call.name, arguments: read.call.arguments, status: 'completed' }
      : { type: 'message', id: messageIdOf(this.options.jobId), status, role: 'assistant', content: [{ type: 'output_text', text: read.text, annotations: [], logprobs: [] }] };
    const usage = { input_tokens: outcome.promptTokens, input_tokens_details: { cached_tokens: 0 }, output_tokens: outcome.tokens, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: outcome.promptTokens + outcome.tokens };
    const response = this.responseObject(status, [item], usage);
    this.options.keep?.(response, [read.call ? { role: 'assistant', content: null, tool_calls: [{ id: item.call_id, type: 'function', function: { name: read.call.name, arguments: read.call.arguments } }] } : { role: 'assistant', content: read.text }]);
    const { stream } = this;
    if (!stream) return sendJson(this.response, 200, response, this.headers);
    this.accepted();
    this.closeStreamedItem(item, read.text);
    this.send(complete ? 'response.completed' : 'response.incomplete', { response });
    stream.end();
  }

  /** The .done events of the item that streamed; a call cut short by the budget ends as the text it was. */
  private closeStreamedItem(item: OutputItem, text: string): void {
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
    const part = { type: 'output_text', text, annotations: [], logprobs: [] };
    this.send('response.output_text.done', { item_id: this.item!.id, output_index: 0, content_index: 0, text, logprobs: [] });
    this.send('response.content_part.done', { item_id: this.item!.id, output_index: 0, content_index: 0, part });
    this.send('response.output_item.done', { output_index: 0, item: item.type === 'message' ? item : { ...this.item!, status: 'completed', content: [part] } });
  }

  /** Before the stream opened: an HTTP error status; after: the Responses API's error event, which the SDK raises. */
  fail(error: ApiError): void {
    if (this.stream?.opened) {
      this.send('error', { code: error.apiCode, message: error.message, param: error.param });
      return this.stream.end();
    }
    sendError(this.response, error, this.headers);
  }

  private send(type: string, body: object): void {
    this.stream!.send({ type, sequence_number: this.sequence++, ...body }, type);
  }

  private responseObject(status: string, output: OutputItem[], usage: object | null): Record<string, unknown> {
    const { echo } = this.options;
    return {
      id: this.id,
      object: 'response',
      created_at: this.createdAt,
      status,
      background: false,
      error: null,
      incomplete_details: status === 'incomplete' ? { reason: 'max_output_tokens' } : null,
      instructions: echo.instructions,
      max_output_tokens: echo.max_output_tokens,
      model: echo.model,
      output,
      parallel_tool_calls: echo.parallel_tool_calls,
      previous_response_id: echo.previous_response_id,
      reasoning: { effort: null, summary: null },
      service_tier: 'default',
      store: echo.store,
      temperature: echo.temperature,
      text: echo.text,
      tool_choice: echo.tool_choice,
      tools: echo.tools,
      top_p: echo.top_p,
      truncation: 'disabled',
      usage,
      user: echo.user,
      metadata: echo.metadata,
    };
  }
}
