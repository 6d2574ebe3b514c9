// Ollama's API (/api/generate, /api/chat) as zod schemas and their translation into Infernet job specs, so that
// editors and chat front ends written for Ollama run on the network. Options Infernet cannot honour are refused by
// name (400), as on the OpenAI routes.
import { z } from 'zod';
import type { JobSpec } from '../protocol/index.js';
import { ApiError } from './api-error.js';
import { ChatCompletionRequest, chatJobSpec, CompletionRequest, completionJobSpec, parseRequestBody } from './openai-requests.js';

/** The Ollama API version whose shapes these routes follow (clients check it before using `format` schemas). */
export const OLLAMA_API_VERSION = '0.12.0';

/** Accepted when absent, null, false or empty. */
const unsupported = (feature: string) =>
  z
    .unknown()
    .refine((value) => value === undefined || value === null || value === false || value === '' || (Array.isArray(value) && value.length === 0), { error: `${feature} is not supported by Infernet` })
    .optional();

/** Ollama's runtime options that map onto a job's sampling; any other option is refused rather than ignored. */
const Options = z
  .object({
    temperature: z.number().min(0).max(2).optional(),
    top_p: z.number().gt(0).max(1).optional(),
    top_k: z.number().int().min(0).max(1000).optional(),
    seed: z.number().int().min(0).max(2 ** 32 - 1).optional(),
    /** -1: no limit but the context; -2: fill the context. */
    num_predict: z.number().int().min(-2).max(32_768).optional(),
    stop: z.array(z.string().min(1)).max(4).optional(),
    presence_penalty: z.number().min(-2).max(2).optional(),
    frequency_penalty: z.number().min(-2).max(2).optional(),
  })
  .strict();
type Options = z.infer<typeof Options>;

/** `"json"` or a JSON schema, as Ollama's `format`. */
const Format = z.union([z.literal('json'), z.literal(''), z.record(z.string(), z.unknown())]);

const common = {
  model: z.string().min(1).max(256),
  stream: z.boolean().optional(),
  format: Format.nullish(),
  options: Options.nullish(),
  /** Providers keep their models loaded: accepted, and nothing depends on it. */
  keep_alive: z.union([z.string(), z.number()]).nullish(),
  think: unsupported('think'),
  infernet: z.unknown().optional(),
};

export const OllamaGenerateRequest = z
  .object({
    ...common,
    prompt: z.string().optional(),
    system: z.string().optional(),
    /** Without the model's template: the prompt goes to the engine as it is. */
    raw: z.boolean().optional(),
    suffix: unsupported('suffix'),
    images: unsupported('images'),
    template: unsupported('template'),
    context: unsupported('context'),
  })
  .strict();
export type OllamaGenerateRequest = z.infer<typeof OllamaGenerateRequest>;

/** A call the assistant made earlier, as Ollama writes it: its arguments an object, not JSON text. */
const OllamaToolCall = z.object({
  id: z.string().max(256).optional(),
  function: z.object({ index: z.number().int().optional(), name: z.string().min(1).max(64), arguments: z.record(z.string(), z.unknown()) }),
});

const OllamaMessage = z.object({
  role: z.enum(['system', 'user', 'assistant', 'tool']),
  content: z.string(),
  images: unsupported('images'),
  tool_calls: z.array(OllamaToolCall).max(128).optional(),
  /** The tool a `tool` message answers (Ollama names the tool, not a call id). */
  tool_name: z.string().max(64).optional(),
  tool_call_id: z.string().max(256).optional(),
  thinking: z.string().optional(),
});
type OllamaMessage = z.infer<typeof OllamaMessage>;

/** Ollama's tools are OpenAI's function tools; the model always chooses (OpenAI's tool_choice "auto"). */
const OllamaTool = z.object({
  type: z.literal('function', { error: 'only function tools are supported by Infernet' }),
  function: z.object({ name: z.string().min(1).max(64), description: z.string().max(8192).optional(), parameters: z.record(z.string(), z.unknown()).optional() }),
});

export const OllamaChatRequest = z
  .object({
    ...common,
    messages: z.array(OllamaMessage).max(4096),
    tools: z.array(OllamaTool).max(128).nullish(),
  })
  .strict();
export type OllamaChatRequest = z.infer<typeof OllamaChatRequest>;

/** The OpenAI request the Ollama one means: one translation into a job spec, one set of checks. */
function openAiFields(request: { model: string; format?: z.infer<typeof Format> | null | undefined; options?: Options | null | undefined; infernet?: unknown }) {
  const options = request.options ?? {};
  const format = request.format;
  return {
    model: request.model,
    // Ollama's default temperature.
    temperature: options.temperature ?? 0.8,
    ...(options.top_p !== undefined ? { top_p: options.top_p } : {}),
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
    ...(options.stop?.length ? { stop: options.stop } : {}),
    ...(options.presence_penalty !== undefined ? { presence_penalty: options.presence_penalty } : {}),
    ...(options.frequency_penalty !== undefined ? { frequency_penalty: options.frequency_penalty } : {}),
    ...(options.num_predict !== undefined && options.num_predict > 0 ? { max_tokens: options.num_predict } : {}),
    ...(format === 'json' ? { response_format: { type: 'json_object' as const } } : format && typeof format === 'object' ? { response_format: { type: 'json_schema' as const, json_schema: { name: 'format', schema: format, strict: false } } } : {}),
    ...(request.infernet !== undefined ? { infernet: request.infernet } : {}),
  };
}

function withTopK(spec: JobSpec, options: Options | null | undefined): JobSpec {
  return options?.top_k !== undefined ? { ...spec, sampling: { ...spec.sampling, topK: options.top_k } } : spec;
}

/** Ollama's params read `format` and `options.*`: the OpenAI names the checks use are mapped back. */
function renamed(error: unknown): never {
  if (!(error instanceof ApiError) || !error.param) throw error;
  const names: Record<string, string> = { max_tokens: 'options.num_predict', top_p: 'options.top_p', temperature: 'options.temperature', seed: 'options.seed', stop: 'options.stop' };
  const param = error.param.startsWith('response_format') ? 'format' : (names[error.param] ?? error.param);
  throw new ApiError(error.status, error.apiCode, error.message.replace(`'${error.param}'`, `'${param}'`), param);
}

/**
 * A generate request as a job: with the model's chat template around the prompt (and the system message), as
 * Ollama applies its template, or the raw prompt with `raw`.
 */
export function generateJobSpec(request: OllamaGenerateRequest, jobId: string, now = Date.now()): JobSpec {
  const fields = openAiFields(request);
  try {
    if (request.raw) {
      const completion = parseRequestBody(CompletionRequest, { ...withoutFormat(fields), prompt: request.prompt ?? '', max_tokens: fields.max_tokens ?? DEFAULT_OLLAMA_MAX_TOKENS });
      return withTopK(withFormat(completionJobSpec(completion, jobId, now), fields), request.options);
    }
    const messages = [...(request.system ? [{ role: 'system' as const, content: request.system }] : []), { role: 'user' as const, content: request.prompt ?? '' }];
    return withTopK(chatJobSpec(parseRequestBody(ChatCompletionRequest, { ...fields, messages }), jobId, now), request.options);
  } catch (error) {
    renamed(error);
  }
}

/** Ollama's turns as OpenAI's: calls get ids (Ollama's have none), a tool result names its call by the tool's name. */
function openAiMessageOf(message: OllamaMessage, index: number): object {
  if (message.role === 'tool') return { role: 'tool', tool_call_id: message.tool_call_id ?? message.tool_name ?? `call_${index}`, content: message.content };
  if (message.role === 'assistant' && message.tool_calls?.length) {
    const calls = message.tool_calls.map((call, at) => ({ id: call.id ?? `call_${index}_${at}`, type: 'function', function: { name: call.function.name, arguments: JSON.stringify(call.function.arguments) } }));
    return { role: 'assistant', content: message.content || null, tool_calls: calls };
  }
  return { role: message.role, content: message.content };
}

export function chatJobSpecOf(request: OllamaChatRequest, jobId: string, now = Date.now()): JobSpec {
  const messages = request.messages.map(openAiMessageOf);
  // Ollama does not enforce schemas strictly: keywords the grammar cannot enforce are best effort, as in `format`.
  const tools = request.tools?.length ? { tools: request.tools.map((tool) => ({ type: 'function', function: { ...tool.function, strict: false } })) } : {};
  try {
    return withTopK(chatJobSpec(parseRequestBody(ChatCompletionRequest, { ...openAiFields(request), messages, ...tools }), jobId, now), request.options);
  } catch (error) {
    renamed(error);
  }
}

/** Ollama generates until the model stops (num_predict -1); a raw prompt gets the same budget as a chat. */
const DEFAULT_OLLAMA_MAX_TOKENS = 32_768;

type OpenAiFields = ReturnType<typeof openAiFields>;

function withoutFormat(fields: OpenAiFields): Omit<OpenAiFields, 'response_format'> {
  const { response_format: _format, ...rest } = fields as OpenAiFields & { response_format?: unknown };
  return rest;
}

// Legacy completions take no response_format: a raw prompt's format is applied to its spec afterwards.
function withFormat(spec: JobSpec, fields: OpenAiFields): JobSpec {
  if (!('response_format' in fields) || !fields.response_format) return spec;
  const chat = chatJobSpec(parseRequestBody(ChatCompletionRequest, { model: fields.model, messages: [{ role: 'user', content: '' }], response_format: fields.response_format }), spec.jobId);
  return chat.sampling.format ? { ...spec, sampling: { ...spec.sampling, format: chat.sampling.format } } : spec;
}

export function parseOllamaGenerate(body: unknown): OllamaGenerateRequest {
  return parseRequestBody(OllamaGenerateRequest, body);
}

export function parseOllamaChat(body: unknown): OllamaChatRequest {
  return parseRequestBody(OllamaChatRequest, body);
}
