// The request bodies of POST /v1/chat/completions and /v1/completions as zod schemas, and their translation into
// an Infernet JobSpec. Fields OpenAI defines that Infernet cannot honour are refused by name rather than ignored,
// so a client never gets an answer to a question it did not ask; an unknown field is refused too (as OpenAI does).
import { z } from 'zod';
// The pure schema check alone, not inference/index.js, which loads llama.cpp's bindings on a client-only node.
import { grammarSchemaOf, UnsupportedJsonSchemaError } from '../inference/json-schema-grammar.js';
import { toolCallSchemaOf, toolCallText, toolPromptOf, toolResultText, UnsupportedToolSchemaError, type ToolDefinition } from '../inference/tool-call-schema.js';
import { ChatMessage, JobSpec, Price, VerificationPolicy, type JobInput, type OutputFormat } from '../protocol/index.js';
import { badRequest, type ApiError } from './api-error.js';
import type { ReplyMode } from './reply-text-reader.js';

/** OpenAI's default sampling temperature; Infernet's own default (greedy) applies only where a client sets 0. */
export const DEFAULT_TEMPERATURE = 1;
/** OpenAI's default for legacy completions. */
export const DEFAULT_COMPLETION_MAX_TOKENS = 16;
/** Chat completions have no default limit at OpenAI: the largest budget a job may ask for, cut at the context's end. */
export const DEFAULT_CHAT_MAX_TOKENS = 32_768;
/** The job deadline when the request names none, as for `infernet submit`. */
export const DEFAULT_TIMEOUT_S = 300;

/** Accepted when absent, null, false or empty: what OpenAI clients send for a feature they do not use. */
const unsupported = (feature: string) =>
  z
    .unknown()
    .refine((value) => value === undefined || value === null || value === false || (Array.isArray(value) && value.length === 0), {
      error: `${feature} is not supported by Infernet`,
    })
    .optional();

export const InfernetOptions = z
  .object({
    /** Providers above this price are not matched. */
    price_cap: Price.optional(),
    verification: VerificationPolicy.optional(),
    /** Seconds until the job's deadline. */
    timeout_s: z.number().positive().max(3600).optional(),
  })
  .strict();
export type InfernetOptions = z.infer<typeof InfernetOptions>;

/** Choices one request may ask for (`n`): each is a job of its own. */
export const MAX_CHOICES = 8;
/** OpenAI's limits: 20 alternatives per token for chat, 5 for legacy completions. */
export const MAX_CHAT_TOP_LOGPROBS = 20;
export const MAX_COMPLETION_LOGPROBS = 5;

/** Up to 16 string pairs kept with an object and echoed, as at OpenAI. */
export const Metadata = z.record(z.string().max(64), z.string().max(512)).refine((value) => Object.keys(value).length <= 16, { error: 'at most 16 metadata keys' });

const samplingFields = {
  model: z.string().min(1).max(256),
  max_tokens: z.number().int().min(1).max(32_768).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().gt(0).max(1).nullish(),
  seed: z.number().int().min(0).max(2 ** 32 - 1).nullish(),
  stop: z.union([z.string().min(1), z.array(z.string().min(1)).max(4)]).nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().nullish() }).nullish(),
  n: z.number().int().min(1).max(MAX_CHOICES, { error: `at most ${MAX_CHOICES} choices per request: each is a job of its own` }).nullish(),
  presence_penalty: z.number().min(-2).max(2).nullish(),
  frequency_penalty: z.number().min(-2).max(2).nullish(),
  /** Keys are token ids of the model's own vocabulary, as llama.cpp's server reads them. */
  logit_bias: z.record(z.string().regex(/^\d+$/, { error: 'logit_bias keys are token ids' }), z.number().min(-100).max(100)).nullish(),
  /** An end-user id for abuse monitoring at OpenAI: accepted, and nothing here depends on it. */
  user: z.string().max(256).nullish(),
  safety_identifier: z.string().max(256).nullish(),
  infernet: InfernetOptions.optional(),
};

const TextPart = z.object({ type: z.literal('text'), text: z.string() });
const MessageContent = z.union([z.string(), z.array(TextPart).min(1)]);
/** A call the assistant made earlier in the conversation. */
const MessageToolCall = z.object({ id: z.string().min(1).max(256), type: z.literal('function'), function: z.object({ name: z.string().min(1).max(64), arguments: z.string() }) });
const RequestMessage = z
  .object({
    /** developer is OpenAI's newer name for system. */
    role: z.enum(['system', 'developer', 'user', 'assistant', 'tool']),
    content: MessageContent.nullish(),
    name: z.string().optional(),
    tool_calls: z.array(MessageToolCall).max(128).optional(),
    tool_call_id: z.string().min(1).max(256).optional(),
    refusal: z.string().nullish(),
  })
  .superRefine((message, context) => {
    if (message.content == null && !(message.role === 'assistant' && message.tool_calls?.length)) context.addIssue({ code: 'custom', message: 'content is required (an assistant message may have tool_calls instead)', path: ['content'] });
    if (message.role === 'tool' && !message.tool_call_id) context.addIssue({ code: 'custom', message: 'a tool message needs the tool_call_id it answers', path: ['tool_call_id'] });
    if (message.tool_calls?.length && message.role !== 'assistant') context.addIssue({ code: 'custom', message: 'only assistant messages carry tool_calls', path: ['tool_calls'] });
  });
type RequestMessage = z.infer<typeof RequestMessage>;

/** A function the model may call: its parameters are a JSON schema, enforced by the decoding grammar when a call is forced. */
const FunctionTool = z
  .object({
    type: z.literal('function', { error: 'only function tools are supported by Infernet' }),
    function: z
      .object({
        name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, { error: 'a function name is 1 to 64 letters, digits, _ or -' }),
        description: z.string().max(8192).optional(),
        parameters: z.record(z.string(), z.unknown()).optional(),
        strict: z.boolean().nullish(),
      })
      .strict(),
  })
  .strict();
const ToolChoice = z.union([z.enum(['none', 'auto', 'required']), z.object({ type: z.literal('function'), function: z.object({ name: z.string().min(1) }).strict() }).strict()]);
export type ToolChoice = z.infer<typeof ToolChoice>;

/** OpenAI's structured outputs: text (the default), any JSON object, or JSON valid against a schema. */
const ResponseFormat = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text') }),
  z.object({ type: z.literal('json_object') }),
  z.object({
    type: z.literal('json_schema'),
    json_schema: z.object({
      name: z.string().min(1).max(64),
      description: z.string().optional(),
      schema: z.record(z.string(), z.unknown()).optional(),
      strict: z.boolean().nullish(),
    }),
  }),
]);
export type ResponseFormat = z.infer<typeof ResponseFormat>;

export const ChatCompletionRequest = z
  .object({
    ...samplingFields,
    messages: z.array(RequestMessage).min(1).max(4096),
    max_completion_tokens: z.number().int().min(1).max(32_768).nullish(),
    response_format: ResponseFormat.nullish(),
    logprobs: z.boolean().nullish(),
    top_logprobs: z.number().int().min(0).max(MAX_CHAT_TOP_LOGPROBS).nullish(),
    tools: z.array(FunctionTool).max(128).nullish(),
    tool_choice: ToolChoice.nullish(),
    /** Permission to make several calls at once: Infernet's forced calls are one per reply, which honours either value. */
    parallel_tool_calls: z.boolean().nullish(),
    functions: unsupported('functions'),
    function_call: unsupported('function_call'),
    audio: unsupported('audio'),
    modalities: z.array(z.literal('text', { error: 'only text output is supported by Infernet' })).nullish(),
    prediction: unsupported('prediction'),
    reasoning_effort: unsupported('reasoning_effort'),
    verbosity: unsupported('verbosity'),
    web_search_options: unsupported('web_search_options'),
    /** Keeps the completion for the stored-completion routes (stored-completions.ts), with its metadata. */
    store: z.boolean().nullish(),
    metadata: Metadata.nullish(),
    service_tier: z.enum(['auto', 'default'], { error: 'only the default service tier is offered by Infernet' }).nullish(),
    prompt_cache_key: z.string().max(256).nullish(),
  })
  .strict()
  .refine((request) => request.top_logprobs == null || request.logprobs === true, { error: 'top_logprobs needs logprobs: true', path: ['top_logprobs'] })
  .superRefine((request, context) => {
    const tools = request.tools ?? [];
    const choice = request.tool_choice ?? (tools.length ? 'auto' : 'none');
    if (choice !== 'none' && choice !== 'auto' && !tools.length) {
      context.addIssue({ code: 'custom', path: ['tool_choice'], message: 'a tool call is asked for but no tools are given' });
    } else if (typeof choice === 'object' && !tools.some((tool) => tool.function.name === choice.function.name)) {
      context.addIssue({ code: 'custom', path: ['tool_choice', 'function', 'name'], message: `no tool is named "${choice.function.name}"` });
    }
    if (choice !== 'none' && tools.length && request.response_format && request.response_format.type !== 'text') {
      context.addIssue({ code: 'custom', path: ['response_format'], message: 'response_format cannot be combined with tools unless tool_choice is "none": a call (or the choice of one) has its own grammar' });
    }
  });
export type ChatCompletionRequest = z.infer<typeof ChatCompletionRequest>;

export const CompletionRequest = z
  .object({
    ...samplingFields,
    prompt: z.union([z.string(), z.array(z.string()).length(1, { error: 'one prompt per request: Infernet runs one job per request' })]),
    echo: unsupported('echo'),
    suffix: unsupported('suffix'),
    /** Legacy completions: the number of alternatives per token, 0 to 5. */
    logprobs: z.number().int().min(0).max(MAX_COMPLETION_LOGPROBS).nullish(),
    best_of: z.literal(1, { error: 'only best_of=1 is supported by Infernet' }).nullish(),
  })
  .strict();
export type CompletionRequest = z.infer<typeof CompletionRequest>;

/** OpenAI's spelling of a field path: messages[0].content. */
function paramOf(path: readonly PropertyKey[]): string {
  return path.map((part, index) => (typeof part === 'number' ? `[${part}]` : index === 0 ? String(part) : `.${String(part)}`)).join('');
}

/** Parses a request body; the error names the first bad field. */
export function parseRequestBody<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('The request body must be a JSON object.');
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  if (issue.code === 'unrecognized_keys') {
    const path = [...issue.path, issue.keys[0]!];
    throw badRequest(`Unrecognized request argument supplied: '${paramOf(path)}' is not a parameter Infernet knows, and it is not ignored.`, paramOf(path));
  }
  const param = paramOf(issue.path);
  throw badRequest(param ? `Invalid '${param}': ${issue.message}` : issue.message, param || null);
}

/** The tools a forced call chooses among (`required`: any, a named function: that one); none when no call is forced. */
export function forcedToolsOf(request: Pick<ChatCompletionRequest, 'tools' | 'tool_choice'>): ToolDefinition[] {
  const choice = request.tool_choice;
  if (!choice || choice === 'none' || choice === 'auto') return [];
  return toolDefinitionsOf((request.tools ?? []).filter((tool) => choice === 'required' || tool.function.name === choice.function.name));
}

/** The model chooses between answering and calling one of the tools: tool_choice "auto", the default when tools are given. */
export function isToolChoiceAuto(request: Pick<ChatCompletionRequest, 'tools' | 'tool_choice'>): boolean {
  return Boolean(request.tools?.length) && (request.tool_choice ?? 'auto') === 'auto';
}

/** How the reply reads the output: a forced call, a call or text (auto), or text. */
export function replyModeOf(request: Pick<ChatCompletionRequest, 'tools' | 'tool_choice'>): ReplyMode {
  return forcedToolsOf(request).length ? 'call' : isToolChoiceAuto(request) ? 'auto' : 'text';
}

const toolDefinitionsOf = (tools: NonNullable<ChatCompletionRequest['tools']>): ToolDefinition[] =>
  tools.map(({ function: fn }) => ({ name: fn.name, description: fn.description, parameters: fn.parameters, strict: fn.strict === true }));

export function chatJobSpec(request: ChatCompletionRequest, jobId: string, now = Date.now()): JobSpec {
  const auto = isToolChoiceAuto(request);
  const tools = auto ? toolDefinitionsOf(request.tools!) : forcedToolsOf(request);
  const messages = withToolPrompt(request.messages.map(toJobMessage), tools, auto);
  const format = tools.length ? toolCallFormatOf(tools, request.tools ?? [], auto) : outputFormatOf(request.response_format);
  const logprobs = request.logprobs === true ? (request.top_logprobs ?? 0) : undefined;
  return jobSpecOf(request, { messages }, request.max_completion_tokens ?? request.max_tokens ?? DEFAULT_CHAT_MAX_TOKENS, jobId, now, { format, logprobs });
}

export function completionJobSpec(request: CompletionRequest, jobId: string, now = Date.now()): JobSpec {
  const prompt = typeof request.prompt === 'string' ? request.prompt : request.prompt[0]!;
  return jobSpecOf(request, { prompt }, request.max_tokens ?? DEFAULT_COMPLETION_MAX_TOKENS, jobId, now, { logprobs: request.logprobs ?? undefined });
}

/**
 * The jobs of a request with `n` choices: the first spec and n-1 copies with fresh job ids, each with its own
 * seed when one was given, so that sampled choices differ as OpenAI's do.
 */
export function choiceSpecs(spec: JobSpec, n: number, newJobId: () => string): JobSpec[] {
  return Array.from({ length: n }, (_, index) => {
    if (index === 0) return spec;
    const seed = spec.sampling.seed;
    return { ...spec, jobId: newJobId(), sampling: { ...spec.sampling, ...(seed !== undefined ? { seed: (seed + index) % 2 ** 32 } : {}) } };
  });
}

/** response_format as the engine's grammar: a schema the grammar cannot enforce is refused by name, not ignored. */
export function outputFormatOf(format: ResponseFormat | null | undefined): OutputFormat | undefined {
  if (!format || format.type === 'text') return undefined;
  if (format.type === 'json_object') return { type: 'json' };
  const { schema, strict } = format.json_schema;
  if (!schema) return { type: 'json' };
  try {
    return { type: 'json_schema', schema: grammarSchemaOf(schema, { strict: strict === true }) };
  } catch (error) {
    if (!(error instanceof UnsupportedJsonSchemaError)) throw error;
    const param = `response_format.json_schema.schema${error.issue.path ? `.${error.issue.path}` : ''}`;
    throw badRequest(`Invalid '${param}': ${error.issue.message}.`, param);
  }
}

/**
 * A call's tools as the decoding grammar: a schema the grammar cannot enforce under `strict` is refused by name.
 * Under tool_choice "auto" the grammar admits a call or an answer in text, `{"response": "..."}`, as llama.cpp's
 * server does for chat templates without a tool-call syntax of their own: the call is the first branch.
 */
function toolCallFormatOf(tools: readonly ToolDefinition[], requestTools: ReadonlyArray<{ function: { name: string } }>, auto: boolean): OutputFormat {
  try {
    const calls = toolCallSchemaOf(tools);
    if (!auto) return { type: 'json_schema', schema: calls };
    const branches = Array.isArray(calls.oneOf) ? (calls.oneOf as unknown[]) : [calls];
    return { type: 'json_schema', schema: { oneOf: [...branches, TEXT_ANSWER_SCHEMA] } };
  } catch (error) {
    if (!(error instanceof UnsupportedToolSchemaError)) throw error;
    const index = requestTools.findIndex((tool) => tool.function.name === tools[error.toolIndex]!.name);
    const path = error.schemaError.issue.path;
    const param = `tools[${index}].function.parameters${path ? `.${path}` : ''}`;
    throw badRequest(`Invalid '${param}': ${error.schemaError.issue.message}.`, param);
  }
}

/** Under tool_choice "auto", the answer that calls no tool: its text as a JSON string. */
export const TEXT_ANSWER_SCHEMA = { type: 'object', properties: { response: { type: 'string' } }, required: ['response'], additionalProperties: false } as const;

/** The tools go in the system prompt, merged into the first system message: templates expect at most one, first. */
function withToolPrompt(messages: ChatMessage[], tools: readonly ToolDefinition[], auto: boolean): ChatMessage[] {
  if (!tools.length) return messages;
  const prompt = `${toolPromptOf(tools)}${auto ? '\nWhen no tool is needed, answer instead with {"response": <your answer as text>}.' : ''}`;
  const [first, ...rest] = messages;
  if (first?.role === 'system') return [{ role: 'system', content: `${first.content}\n\n${prompt}` }, ...rest];
  return [{ role: 'system', content: prompt }, ...messages];
}

const textOf = (content: z.infer<typeof MessageContent> | null | undefined) => (content == null ? '' : typeof content === 'string' ? content : content.map((part) => part.text).join('\n'));

/** Earlier calls and their results as text, in the form the tool prompt describes: chat templates here know no tool turns. */
function toJobMessage(message: RequestMessage): ChatMessage {
  const content = textOf(message.content);
  if (message.role === 'tool') return { role: 'user', content: toolResultText(message.tool_call_id!, content) };
  if (message.role === 'assistant' && message.tool_calls?.length) {
    const calls = message.tool_calls.map((call) => toolCallText(call.function.name, argumentsOf(call.function.arguments)));
    return { role: 'assistant', content: [content, ...calls].filter(Boolean).join('\n') };
  }
  return { role: message.role === 'developer' ? 'system' : message.role, content };
}

function argumentsOf(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

type SamplingFields = z.infer<z.ZodObject<typeof samplingFields>>;

interface OutputOptions {
  format?: OutputFormat | undefined;
  logprobs?: number | undefined;
}

function jobSpecOf(request: SamplingFields, input: JobInput, maxTokens: number, jobId: string, now: number, output: OutputOptions): JobSpec {
  const { infernet } = request;
  const logitBias = request.logit_bias ? Object.entries(request.logit_bias).map(([token, bias]) => [Number(token), bias] as [number, number]) : [];
  const stop = typeof request.stop === 'string' ? [request.stop] : (request.stop ?? undefined);
  const parsed = JobSpec.safeParse({
    jobId,
    model: { name: request.model },
    input,
    sampling: {
      temperature: request.temperature ?? DEFAULT_TEMPERATURE,
      maxTokens,
      ...(request.top_p != null ? { topP: request.top_p } : {}),
      ...(request.seed != null ? { seed: request.seed } : {}),
      ...(stop?.length ? { stop } : {}),
      ...(request.presence_penalty ? { presencePenalty: request.presence_penalty } : {}),
      ...(request.frequency_penalty ? { frequencyPenalty: request.frequency_penalty } : {}),
      ...(logitBias.length ? { logitBias } : {}),
      ...(output.format ? { format: output.format } : {}),
    },
    ...(output.logprobs !== undefined ? { logprobs: output.logprobs } : {}),
    deadline: now + (infernet?.timeout_s ?? DEFAULT_TIMEOUT_S) * 1000,
    ...(infernet?.price_cap ? { priceCap: infernet.price_cap } : {}),
    ...(infernet?.verification ? { verification: infernet.verification } : {}),
  });
  if (!parsed.success) throw jobSpecProblem(parsed.error);
  return parsed.data;
}

/** The schemas above are at least as strict as JobSpec, so this is a backstop that still names the field. */
function jobSpecProblem(error: z.ZodError): ApiError {
  const issue = error.issues[0];
  return badRequest(`Invalid request: ${issue?.path.join('.')}: ${issue?.message}`);
}
