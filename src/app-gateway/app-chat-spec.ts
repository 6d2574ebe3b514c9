// A submitted form that asks for structured output or tools runs as the chat completion the HTTP API would run for
// it: the prompt as one user message, response_format and tools as OpenAI names them, checked (a schema the grammar
// cannot enforce refused by name) and turned into the decoding grammar by the same code as /v1/chat/completions.
import { ApiError } from '../api/api-error.js';
import { ChatCompletionRequest, chatJobSpec, parseRequestBody, replyModeOf } from '../api/openai-requests.js';
import type { ReplyMode } from '../api/reply-text-reader.js';
import type { JobSpec } from '../protocol/index.js';
import type { AppJobSubmit } from './app-messages.js';

/** True when the form asks for more than free text (a tool choice without tools too, to be refused): it then runs as a chat completion. */
export function asksStructuredReply(request: AppJobSubmit): boolean {
  return request.responseFormat !== undefined || (request.tools?.length ?? 0) > 0 || (request.toolChoice !== undefined && request.toolChoice !== 'none');
}

/** The chat job a structured form means and how its output reads; throws ApiError (400, naming the field) when refused. */
export function chatSpecOfSubmission(request: AppJobSubmit, jobId: string, now: number): { spec: JobSpec; mode: ReplyMode } {
  const chat = parseRequestBody(ChatCompletionRequest, {
    model: request.model,
    messages: [{ role: 'user', content: request.prompt }],
    max_tokens: request.maxTokens,
    temperature: request.temperature,
    ...(request.topP !== undefined ? { top_p: request.topP } : {}),
    ...(request.seed !== undefined ? { seed: request.seed } : {}),
    ...(request.responseFormat ? { response_format: request.responseFormat } : {}),
    ...(request.tools?.length ? { tools: request.tools } : {}),
    ...(request.toolChoice ? { tool_choice: request.toolChoice } : {}),
  });
  const spec = chatJobSpec(chat, jobId, now);
  return { spec, mode: replyModeOf(chat) };
}

/** The form's field an API parameter stands for, in a refusal's message. */
export function formFieldOf(error: ApiError): string {
  const param = error.param ?? '';
  return param.replace(/^response_format/, 'structured output').replace(/^tool_choice/, 'tool choice');
}
