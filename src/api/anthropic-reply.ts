// The answer to an Anthropic Messages request as its job advances: one message object, or Anthropic's named
// server-sent events (message_start, content_block_start/delta/stop, message_delta, message_stop). Errors are
// Anthropic's `{type: "error", error: {type, message}}`, as its SDK reads them.
import type { ServerResponse } from 'node:http';
import { npubOf } from '../identity/index.js';
import type { JobOutcome } from '../client/job-client.js';
import type { ApiError } from './api-error.js';
import { EventStream, sendError, sendJson, type ResponseHeaders } from './http-replies.js';
import type { JobReply } from './serve-completion.js';
import { ReplyTextReader, type ReplyMode } from './reply-text-reader.js';

export type AnthropicStopReason = 'end_turn' | 'max_tokens' | 'stop_sequence' | 'tool_use';

/** Anthropic's error types, by the HTTP status Infernet answers. */
export function anthropicErrorType(status: number): string {
  switch (status) {
    case 401:
      return 'authentication_error';
    case 403:
      return 'permission_error';
    case 404:
      return 'not_found_error';
    case 413:
      return 'request_too_large';
    case 429:
      return 'rate_limit_error';
    case 503:
      return 'overloaded_error';
    case 504:
      return 'timeout_error';
    default:
      return status >= 500 ? 'api_error' : 'invalid_request_error';
  }
}

export const anthropicErrorBody = (error: ApiError) => ({ type: 'error', error: { type: anthropicErrorType(error.status), message: error.message } });

/**
 * Why the job stopped, and which stop sequence stopped it: the engine leaves the sequence out of the output, so it
 * is found after the output in the tokens' own texts (the job asked for them when it had stop sequences).
 */
export function stopOf(outcome: Pick<JobOutcome, 'finishReason' | 'output' | 'logprobs'>, stopSequences: readonly string[]): { reason: AnthropicStopReason; sequence: string | null } {
  if (outcome.finishReason === 'length') return { reason: 'max_tokens', sequence: null };
  if (stopSequences.length && outcome.logprobs) {
    const generated = outcome.logprobs.map((entry) => entry.token).join('');
    const rest = generated.startsWith(outcome.output) ? generated.slice(outcome.output.length) : '';
    const sequence = stopSequences.find((stop) => rest.startsWith(stop));
    if (sequence !== undefined) return { reason: 'stop_sequence', sequence };
  }
  return { reason: 'end_turn', sequence: null };
}

export interface AnthropicReplyOptions {
  model: string;
  jobId: string;
  stream: boolean;
  stopSequences: readonly string[];
  /** How the output is read: one tool_use block (tool_choice any or tool), a tool_use or a text block (auto), or text. */
  mode?: ReplyMode;
}

const messageIdOf = (jobId: string) => `msg_${jobId.replaceAll('-', '')}`;
const toolUseIdOf = (jobId: string) => `toolu_${jobId.replaceAll('-', '')}`;

/** The reply's content, its stop reason and usage, as both the whole message and the stream's last events carry them. */
function replyOf(options: Omit<AnthropicReplyOptions, 'stream'>, outcome: JobOutcome, reader = new ReplyTextReader(options.mode ?? 'text')) {
  // A call cut short by max_tokens is no call: its text is the content, and stop_reason says why.
  const { call, text } = reader.end(outcome.output);
  const stop = call ? { reason: 'tool_use' as const, sequence: null } : stopOf(outcome, options.stopSequences);
  const content = call ? [{ type: 'tool_use', id: toolUseIdOf(options.jobId), name: call.name, input: call.input }] : [{ type: 'text', text }];
  return { content, stop, usage: { input_tokens: outcome.promptTokens, output_tokens: outcome.tokens } };
}

/** The whole message object for a finished job (a request without `stream`, a batch's result). */
export function anthropicMessage(options: Omit<AnthropicReplyOptions, 'stream'>, outcome: JobOutcome) {
  const { content, stop, usage } = replyOf(options, outcome);
  return {
    id: messageIdOf(options.jobId),
    type: 'message',
    role: 'assistant',
    model: options.model,
    content,
    stop_reason: stop.reason,
    stop_sequence: stop.sequence,
    usage: { ...usage, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
  };
}

export class AnthropicReply implements JobReply {
  private readonly headers: ResponseHeaders;
  private readonly stream?: EventStream;
  private readonly reader: ReplyTextReader;
  /** Whether the stream's one content block has started (a tool_use block starts once its name is decoded). */
  private blockStarted = false;

  constructor(
    private readonly response: ServerResponse,
    private readonly options: AnthropicReplyOptions,
  ) {
    const { jobId } = options;
    this.headers = { 'x-infernet-job-id': jobId, 'request-id': jobId, 'x-request-id': jobId };
    if (options.stream) this.stream = new EventStream(response);
    this.reader = new ReplyTextReader(options.mode ?? 'text');
  }

  matched(_index: number, providerPublicKey: string): void {
    this.headers['x-infernet-provider'] = npubOf(providerPublicKey);
  }

  /** The stream opens when the provider accepts: a refusal before it is still an HTTP error status. */
  accepted(): void {
    const { stream } = this;
    if (!stream || stream.opened) return;
    stream.open(this.headers);
    const message = { ...this.envelope(), content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 0, output_tokens: 0 } };
    stream.send({ type: 'message_start', message }, 'message_start');
    if ((this.options.mode ?? 'text') === 'text') this.startBlock({ type: 'text', text: '' });
  }

  private startBlock(block: object): void {
    this.blockStarted = true;
    this.stream!.send({ type: 'content_block_start', index: 0, content_block: block }, 'content_block_start');
  }

  text(_index: number, text: string): void {
    const { stream } = this;
    if (!stream) return;
    this.accepted();
    for (const piece of this.reader.push(text)) {
      if ('text' in piece) {
        if (!this.blockStarted) this.startBlock({ type: 'text', text: '' });
        stream.send({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: piece.text } }, 'content_block_delta');
      } else if ('name' in piece) this.startBlock({ type: 'tool_use', id: toolUseIdOf(this.options.jobId), name: piece.name, input: {} });
      else stream.send({ type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: piece.arguments } }, 'content_block_delta');
    }
  }

  choiceDone(): void {}

  finish(outcomes: JobOutcome[]): void {
    const outcome = outcomes[0]!;
    const { stream } = this;
    if (!stream) return sendJson(this.response, 200, anthropicMessage(this.options, outcome), this.headers);
    const { stop, usage } = replyOf(this.options, outcome, this.reader);
    this.accepted();
    if (this.blockStarted) stream.send({ type: 'content_block_stop', index: 0 }, 'content_block_stop');
    stream.send({ type: 'message_delta', delta: { stop_reason: stop.reason, stop_sequence: stop.sequence }, usage }, 'message_delta');
    stream.send({ type: 'message_stop' }, 'message_stop');
    stream.end();
  }

  /** Before the stream opened: an HTTP error status; after: Anthropic's error event, which its SDK raises. */
  fail(error: ApiError): void {
    if (this.stream?.opened) {
      this.stream.send(anthropicErrorBody(error), 'error');
      return this.stream.end();
    }
    sendError(this.response, error, this.headers, anthropicErrorBody(error));
  }

  private envelope() {
    return { id: messageIdOf(this.options.jobId), type: 'message', role: 'assistant', model: this.options.model };
  }
}
