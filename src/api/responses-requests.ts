// OpenAI's Responses API (POST /v1/responses) as a zod schema, and its translation into an Infernet job spec through
// the chat completion request it means, so one set of checks (sampling, grammars, tools) applies. A conversation
// continued with previous_response_id is the stored turns followed by the new input. Fields Infernet cannot honour
// are refused by name (400), as on the other routes.
import { z } from 'zod';
import type { JobSpec } from '../protocol/index.js';
import { ApiError } from './api-error.js';
import { ChatCompletionRequest, chatJobSpec, InfernetOptions, Metadata, parseRequestBody, type ToolChoice } from './openai-requests.js';

/** Accepted when absent, null, false or empty, as on the chat route. */
const unsupported = (feature: string) =>
  z
    .unknown()
    .refine((value) => value === undefined || value === null || value === false || (Array.isArray(value) && value.length === 0), { error: `${feature} is not supported by Infernet` })
    .optional();

const InputText = z.object({ type: z.literal('input_text'), text: z.string() }).strict();
/** An earlier answer's text, as a client sends the output of a response back. */
const OutputText = z.object({ type: z.literal('output_text'), text: z.string(), annotations: z.array(z.unknown()).max(0, { error: 'annotations are not supported by Infernet' }).optional(), logprobs: z.array(z.unknown()).optional() }).strict();
const ContentPart = z.discriminatedUnion('type', [InputText, OutputText], { error: 'only input_text and output_text content parts are supported by Infernet' });

const MessageItem = z
  .object({
    type: z.literal('message').optional(),
    id: z.string().max(256).optional(),
    status: z.string().optional(),
    role: z.enum(['user', 'assistant', 'system', 'developer']),
    content: z.union([z.string(), z.array(ContentPart).min(1)]),
  })
  .strict();
const FunctionCallItem = z
  .object({ type: z.literal('function_call'), id: z.string().max(256).optional(), status: z.string().optional(), call_id: z.string().min(1).max(256), name: z.string().min(1).max(64), arguments: z.string() })
  .strict();
/** A tool's output: text, or text parts (what agents such as Codex send for a tool that answered several pieces). */
const FunctionCallOutput = z.union([z.string(), z.array(InputText, { error: 'only input_text parts are supported by Infernet in a function_call_output' })]);
const FunctionCallOutputItem = z
  .object({ type: z.literal('function_call_output'), id: z.string().max(256).optional(), status: z.string().optional(), call_id: z.string().min(1).max(256), output: FunctionCallOutput })
  .strict();
export const InputItem = z.union([MessageItem, FunctionCallItem, FunctionCallOutputItem], { error: 'only message, function_call and function_call_output input items are supported by Infernet' });
export type InputItem = z.infer<typeof InputItem>;

const FunctionTool = z
  .object({
    type: z.literal('function', { error: 'only function tools are supported by Infernet' }),
    name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, { error: 'a function name is 1 to 64 letters, digits, _ or -' }),
    description: z.string().max(8192).nullish(),
    parameters: z.record(z.string(), z.unknown()).nullish(),
    strict: z.boolean().nullish(),
  })
  .strict();
const ResponsesToolChoice = z.union([z.enum(['none', 'auto', 'required']), z.object({ type: z.literal('function'), name: z.string().min(1) }).strict()]);

const TextFormat = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text') }).strict(),
  z.object({ type: z.literal('json_object') }).strict(),
  z.object({ type: z.literal('json_schema'), name: z.string().min(1).max(64), description: z.string().optional(), schema: z.record(z.string(), z.unknown()), strict: z.boolean().nullish() }).strict(),
]);

/** The `include` value that asks for each output token's log-probability (and top_logprobs alternatives). */
export const OUTPUT_TEXT_LOGPROBS = 'message.output_text.logprobs';

export const ResponsesRequest = z
  .object({
    model: z.string().min(1).max(256),
    input: z.union([z.string(), z.array(InputItem).min(1).max(4096)]),
    instructions: z.string().nullish(),
    max_output_tokens: z.number().int().min(1).max(32_768).nullish(),
    temperature: z.number().min(0).max(2).nullish(),
    top_p: z.number().gt(0).max(1).nullish(),
    text: z.object({ format: TextFormat.optional(), verbosity: unsupported('text.verbosity') }).strict().nullish(),
    tools: z.array(FunctionTool).max(128).nullish(),
    tool_choice: ResponsesToolChoice.nullish(),
    parallel_tool_calls: z.boolean().nullish(),
    stream: z.boolean().nullish(),
    previous_response_id: z.string().min(1).max(256).nullish(),
    /** Whether the node keeps the response for previous_response_id and GET /v1/responses/{id} (OpenAI's default: true). */
    store: z.boolean().nullish(),
    /** Kept with the response and echoed, as at OpenAI. */
    metadata: Metadata.nullish(),
    user: z.string().max(256).nullish(),
    safety_identifier: z.string().max(256).nullish(),
    prompt_cache_key: z.string().max(256).nullish(),
    truncation: z.literal('disabled', { error: 'only truncation "disabled" is supported by Infernet' }).nullish(),
    service_tier: z.enum(['auto', 'default'], { error: 'only the default service tier is offered by Infernet' }).nullish(),
    reasoning: unsupported('reasoning'),
    /** Fields to add to the answer: the output text's logprobs only (other items here carry nothing more). */
    include: z.array(z.literal(OUTPUT_TEXT_LOGPROBS, { error: `only ${OUTPUT_TEXT_LOGPROBS} can be included by Infernet` })).max(1).nullish(),
    /** Answered at once `queued`, run by the node without the client, polled with GET (background-responses.ts). */
    background: z.boolean().nullish(),
    /** A kept conversation (conversations.ts) the response continues and is added to: its id, or `{id}`. */
    conversation: z.union([z.string().min(1).max(256), z.object({ id: z.string().min(1).max(256) }).strict()]).nullish(),
    prompt: unsupported('prompt'),
    /** The most likely alternatives of each output token, with include's output text logprobs. */
    top_logprobs: z.number().int().min(0).max(20).nullish(),
    /** A response here makes at most one call, so any limit from 1 holds. */
    max_tool_calls: z.number().int().min(1, { error: 'max_tool_calls below 1 is not supported by Infernet: use tool_choice "none"' }).nullish(),
    /** Obfuscation pads stream events against size side channels; Infernet's events carry none. */
    stream_options: z.object({ include_obfuscation: z.literal(false, { error: 'include_obfuscation is not supported by Infernet: send false' }).nullish() }).strict().nullish(),
    /** What a client says of itself (Codex sends it): accepted; nothing here depends on it. */
    client_metadata: z.record(z.string().max(64), z.string().max(512)).nullish(),
    infernet: InfernetOptions.optional(),
  })
  .strict()
  .refine((request) => !request.top_logprobs || request.include?.includes(OUTPUT_TEXT_LOGPROBS), { error: `top_logprobs needs include: ["${OUTPUT_TEXT_LOGPROBS}"]`, path: ['top_logprobs'] });
export type ResponsesRequest = z.infer<typeof ResponsesRequest>;

export function parseResponsesRequest(body: unknown): ResponsesRequest {
  return parseRequestBody(ResponsesRequest, body);
}

/** A chat message as the chat route reads it: what a stored conversation keeps, without the instructions. */
export type ConversationMessage = Record<string, unknown> & { role: string };

const partsText = (content: string | ReadonlyArray<{ text: string }>) => (typeof content === 'string' ? content : content.map((part) => part.text).join('\n'));

/** Input items as chat messages: calls become an assistant's tool_calls, their outputs tool messages. */
export function conversationOf(input: ResponsesRequest['input']): ConversationMessage[] {
  if (typeof input === 'string') return [{ role: 'user', content: input }];
  return input.map((item): ConversationMessage => {
    if (item.type === 'function_call') return { role: 'assistant', content: null, tool_calls: [{ id: item.call_id, type: 'function', function: { name: item.name, arguments: item.arguments } }] };
    if (item.type === 'function_call_output') return { role: 'tool', tool_call_id: item.call_id, content: partsText(item.output) };
    return { role: item.role, content: partsText(item.content) };
  });
}

function toolChoiceOf(choice: ResponsesRequest['tool_choice']): ToolChoice | undefined {
  if (!choice) return undefined;
  return typeof choice === 'string' ? choice : { type: 'function', function: { name: choice.name } };
}

/** The chat completion request a Responses request means, on top of the stored turns of the conversation it continues. */
export function chatRequestOf(request: ResponsesRequest, history: readonly ConversationMessage[]): Record<string, unknown> {
  const format = request.text?.format;
  const tools = request.tools?.map((tool) => ({ type: 'function', function: { name: tool.name, ...(tool.description ? { description: tool.description } : {}), ...(tool.parameters ? { parameters: tool.parameters } : {}), strict: tool.strict !== false } }));
  const toolChoice = toolChoiceOf(request.tool_choice);
  return {
    model: request.model,
    messages: [...(request.instructions ? [{ role: 'system', content: request.instructions }] : []), ...history, ...conversationOf(request.input)],
    ...(request.max_output_tokens != null ? { max_tokens: request.max_output_tokens } : {}),
    ...(request.temperature != null ? { temperature: request.temperature } : {}),
    ...(request.top_p != null ? { top_p: request.top_p } : {}),
    ...(format && format.type !== 'text'
      ? { response_format: format.type === 'json_object' ? { type: 'json_object' } : { type: 'json_schema', json_schema: { name: format.name, schema: format.schema, strict: format.strict === true } } }
      : {}),
    ...(tools?.length ? { tools } : {}),
    ...(toolChoice ? { tool_choice: toolChoice } : {}),
    ...(request.parallel_tool_calls != null ? { parallel_tool_calls: request.parallel_tool_calls } : {}),
    ...(request.include?.includes(OUTPUT_TEXT_LOGPROBS) ? { logprobs: true, ...(request.top_logprobs ? { top_logprobs: request.top_logprobs } : {}) } : {}),
    ...(request.infernet ? { infernet: request.infernet } : {}),
  };
}

/** The request as a job, with the chat request it was checked as (the reply reads its tool choice). */
export function responsesJobSpec(request: ResponsesRequest, history: readonly ConversationMessage[], jobId: string, now = Date.now()): { spec: JobSpec; chat: ChatCompletionRequest } {
  return renamingParams(() => {
    const chat = parseRequestBody(ChatCompletionRequest, chatRequestOf(request, history));
    return { spec: chatJobSpec(chat, jobId, now), chat };
  });
}

/** The chat checks name chat's fields: the Responses API's names go back in. */
function renamingParams<T>(build: () => T): T {
  try {
    return build();
  } catch (error) {
    if (!(error instanceof ApiError) || !error.param) throw error;
    const param = error.param.startsWith('messages')
      ? 'input'
      : error.param
          .replace('response_format.json_schema.schema', 'text.format.schema')
          .replace(/^response_format/, 'text.format')
          .replace(/^tools\[(\d+)\]\.function\./, 'tools[$1].')
          .replace('tool_choice.function.name', 'tool_choice.name')
          .replace(/^max_tokens$/, 'max_output_tokens')
          .replace(/^logprobs$/, 'include');
    throw new ApiError(error.status, error.apiCode, error.message.replace(error.param, param), param);
  }
}
