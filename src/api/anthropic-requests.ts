// Anthropic's Messages API (POST /v1/messages) as a zod schema, and its translation into an Infernet job spec
// through the OpenAI request it means, so one set of checks applies. Fields Infernet cannot honour are refused by
// name (400), as on the OpenAI routes.
import { z } from 'zod';
import type { JobSpec } from '../protocol/index.js';
import { ApiError, badRequest } from './api-error.js';
import type { ReplyMode } from './reply-text-reader.js';
import { ChatCompletionRequest, chatJobSpec, InfernetOptions, parseRequestBody } from './openai-requests.js';

/** Anthropic's default sampling temperature. */
export const DEFAULT_ANTHROPIC_TEMPERATURE = 1;
/** A job spec holds at most this many stop strings. */
export const MAX_STOP_SEQUENCES = 8;

/** Accepted when absent or null. */
const unsupported = (feature: string) =>
  z
    .unknown()
    .refine((value) => value === undefined || value === null || (Array.isArray(value) && value.length === 0), { error: `${feature} is not supported by Infernet` })
    .optional();

/** Prompt caching is a hint about the provider's cache: accepted, and nothing depends on it. */
const CacheControl = z.object({ type: z.literal('ephemeral'), ttl: z.enum(['5m', '1h']).optional() }).nullish();

const TextBlock = z.object({ type: z.literal('text'), text: z.string(), cache_control: CacheControl, citations: unsupported('citations') }).strict();
/** A call the assistant made earlier in the conversation. */
const ToolUseBlock = z.object({ type: z.literal('tool_use'), id: z.string().min(1).max(256), name: z.string().min(1).max(64), input: z.record(z.string(), z.unknown()), cache_control: CacheControl }).strict();
/** Its result, in the user's next turn. */
const ToolResultBlock = z
  .object({ type: z.literal('tool_result'), tool_use_id: z.string().min(1).max(256), content: z.union([z.string(), z.array(TextBlock)]).optional(), is_error: z.boolean().optional(), cache_control: CacheControl })
  .strict();
const ContentBlock = z.discriminatedUnion('type', [TextBlock, ToolUseBlock, ToolResultBlock], { error: 'only text, tool_use and tool_result content blocks are supported by Infernet' });

const Tool = z
  .object({
    type: z.literal('custom').optional(),
    name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, { error: 'a tool name is 1 to 64 letters, digits, _ or -' }),
    description: z.string().max(8192).optional(),
    input_schema: z.record(z.string(), z.unknown()),
    strict: z.boolean().optional(),
    cache_control: CacheControl,
  })
  .strict();
const ToolChoice = z.discriminatedUnion('type', [
  z.object({ type: z.enum(['auto', 'any', 'none']), disable_parallel_tool_use: z.boolean().optional() }).strict(),
  z.object({ type: z.literal('tool'), name: z.string().min(1), disable_parallel_tool_use: z.boolean().optional() }).strict(),
]);

const Message = z
  .object({
    role: z.enum(['user', 'assistant']),
    content: z.union([z.string(), z.array(ContentBlock).min(1)], { error: 'content is a string or a list of blocks: only text, tool_use and tool_result content blocks are supported by Infernet' }),
  })
  .strict();
export type AnthropicMessage = z.infer<typeof Message>;

export const MessagesRequest = z
  .object({
    model: z.string().min(1).max(256),
    max_tokens: z.number().int().min(1).max(32_768),
    messages: z.array(Message).min(1).max(4096),
    system: z.union([z.string(), z.array(TextBlock)]).optional(),
    stop_sequences: z.array(z.string().min(1)).max(MAX_STOP_SEQUENCES, { error: `at most ${MAX_STOP_SEQUENCES} stop sequences per request` }).optional(),
    stream: z.boolean().optional(),
    temperature: z.number().min(0).max(1).optional(),
    top_p: z.number().gt(0).max(1).optional(),
    top_k: z.number().int().min(0).max(1000).optional(),
    /** An end-user id for abuse monitoring at Anthropic: accepted, and nothing here depends on it. */
    metadata: z.object({ user_id: z.string().max(256).nullish() }).strict().optional(),
    service_tier: z.enum(['auto', 'standard_only']).optional(),
    speed: z.literal('standard', { error: 'only the standard speed is offered by Infernet' }).nullish(),
    cache_control: CacheControl,
    /** Structured output: JSON valid against the schema, under the decoding grammar (strict, as Anthropic promises it). */
    output_config: z
      .object({
        format: z.object({ type: z.literal('json_schema'), schema: z.record(z.string(), z.unknown()) }).strict().nullish(),
        effort: unsupported('output_config.effort'),
      })
      .strict()
      .optional(),
    thinking: z
      .unknown()
      .refine((value) => value === undefined || (typeof value === 'object' && value !== null && (value as { type?: unknown }).type === 'disabled'), { error: 'extended thinking is not supported by Infernet' })
      .optional(),
    tools: z.array(Tool).max(128).optional(),
    tool_choice: ToolChoice.optional(),
    container: unsupported('container'),
    mcp_servers: unsupported('mcp_servers'),
    context_management: unsupported('context_management'),
    infernet: InfernetOptions.optional(),
  })
  .strict();
export type MessagesRequest = z.infer<typeof MessagesRequest>;

export function parseMessagesRequest(body: unknown): MessagesRequest {
  return parseRequestBody(MessagesRequest, body);
}

const textOf = (content: string | ReadonlyArray<{ text: string }>) => (typeof content === 'string' ? content : content.map((block) => block.text).join('\n'));

/** How the reply reads the output: a forced call (`any` or a named tool), a call or text (`auto`, the default with tools), or text. */
export function replyModeOfMessages(request: Pick<MessagesRequest, 'tools' | 'tool_choice'>): ReplyMode {
  if (!request.tools?.length) return 'text';
  const type = request.tool_choice?.type ?? 'auto';
  return type === 'any' || type === 'tool' ? 'call' : type === 'auto' ? 'auto' : 'text';
}

/** Anthropic's turns as OpenAI's messages: tool_use blocks become an assistant's tool_calls, tool_result blocks tool messages. */
function openAiMessagesOf(message: AnthropicMessage): object[] {
  if (typeof message.content === 'string') return [{ role: message.role, content: message.content }];
  const blocks = message.content;
  const text = blocks.flatMap((block) => (block.type === 'text' ? [block.text] : [])).join('\n');
  if (message.role === 'assistant') {
    const calls = blocks.flatMap((block) => (block.type === 'tool_use' ? [{ id: block.id, type: 'function', function: { name: block.name, arguments: JSON.stringify(block.input) } }] : []));
    return [{ role: 'assistant', content: text || null, ...(calls.length ? { tool_calls: calls } : {}) }];
  }
  const results = blocks.flatMap((block) => (block.type === 'tool_result' ? [{ role: 'tool', tool_call_id: block.tool_use_id, content: `${block.is_error ? 'Error: ' : ''}${textOf(block.content ?? '')}` }] : []));
  return [...results, ...(text || !results.length ? [{ role: 'user', content: text }] : [])];
}

function openAiToolChoiceOf(choice: MessagesRequest['tool_choice']): object | string | undefined {
  if (!choice) return undefined;
  if (choice.type === 'any') return 'required';
  if (choice.type === 'tool') return { type: 'function', function: { name: choice.name } };
  return choice.type;
}

/**
 * The request as a job: the system prompt first, then the turns, through the model's chat template. A last
 * assistant turn (a prefill Anthropic continues from) is refused: the engine's template closes every turn.
 * With stop_sequences the job asks for its tokens' texts, so the reply can tell which sequence stopped it.
 */
export function messagesJobSpec(request: MessagesRequest, jobId: string, now = Date.now()): JobSpec {
  const last = request.messages.length - 1;
  if (request.messages[last]!.role === 'assistant') {
    throw badRequest(`Invalid 'messages[${last}].role': a final assistant message (a prefill to continue) is not supported by Infernet; end with a user message.`, `messages[${last}].role`);
  }
  const system = request.system !== undefined ? textOf(request.system) : '';
  const messages = [...(system ? [{ role: 'system' as const, content: system }] : []), ...request.messages.flatMap(openAiMessagesOf)];
  const tools = request.tools?.map((tool) => ({ type: 'function', function: { name: tool.name, ...(tool.description ? { description: tool.description } : {}), parameters: tool.input_schema, strict: tool.strict === true } }));
  const toolChoice = openAiToolChoiceOf(request.tool_choice);
  const openai = {
    model: request.model,
    messages,
    max_tokens: request.max_tokens,
    temperature: request.temperature ?? DEFAULT_ANTHROPIC_TEMPERATURE,
    ...(request.top_p !== undefined ? { top_p: request.top_p } : {}),
    ...(request.output_config?.format ? { response_format: { type: 'json_schema' as const, json_schema: { name: 'output', schema: request.output_config.format.schema, strict: true } } } : {}),
    ...(tools ? { tools } : {}),
    ...(toolChoice ? { tool_choice: toolChoice } : {}),
    ...(request.infernet ? { infernet: request.infernet } : {}),
  };
  const spec = renamingParams(() => chatJobSpec(parseRequestBody(ChatCompletionRequest, openai), jobId, now));
  const stop = request.stop_sequences ?? [];
  return {
    ...spec,
    sampling: { ...spec.sampling, ...(stop.length ? { stop } : {}), ...(request.top_k !== undefined ? { topK: request.top_k } : {}) },
    ...(stop.length ? { logprobs: 0 } : {}),
  };
}

/** The OpenAI checks name OpenAI's fields: Anthropic's names go back in (a message index moves when a system prompt went first). */
function renamingParams<T>(build: () => T): T {
  try {
    return build();
  } catch (error) {
    if (!(error instanceof ApiError) || !error.param) throw error;
    const param = error.param.startsWith('messages')
      ? 'messages'
      : error.param.replace('response_format.json_schema.schema', 'output_config.format.schema').replace(/^tools\[(\d+)\]\.function\.parameters/, 'tools[$1].input_schema').replace('tool_choice.function.name', 'tool_choice.name');
    throw new ApiError(error.status, error.apiCode, error.message.replace(error.param, param), param);
  }
}
