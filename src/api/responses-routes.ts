// OpenAI's Responses API on the API's port: POST /v1/responses runs one Infernet job, as a chat completion does;
// GET /v1/responses/{id} answers a kept response, GET /v1/responses/{id}/input_items lists what it was asked with and
// DELETE /v1/responses/{id} forgets it. previous_response_id continues a kept conversation.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError } from './api-error.js';
import { sendJson } from './http-replies.js';
import { replyModeOf } from './openai-requests.js';
import { readJsonBody } from './read-json-body.js';
import { ResponsesReply, responseIdOf, type ResponseEcho } from './responses-reply.js';
import { conversationOf, parseResponsesRequest, responsesJobSpec, type ResponsesRequest } from './responses-requests.js';
import type { ResponseStore, StoredResponse } from './responses-store.js';
import { inputItemsOf, pageOfInputItems } from './responses-input-items.js';
import { queryOf } from './cursor-page.js';
import { serveJobs, type CompletionServices } from './serve-completion.js';

type Route = (request: IncomingMessage, response: ServerResponse, path: string) => Promise<void>;

const responseNotFound = (id: string, param: string | null) =>
  new ApiError(404, param ? 'previous_response_not_found' : 'not_found', `${param ? 'Previous response' : 'Response'} with id '${id}' not found.`, param);

/** The routes for a path, or undefined when it is not a Responses route. */
export function responsesRoutes(services: CompletionServices, store: ResponseStore): (path: string) => Record<string, Route> | undefined {
  return (path): Record<string, Route> | undefined => {
    if (path === '/v1/responses') return { POST: async (request, response) => createResponse(await readJsonBody(request), response, services, store) };
    const items = /^\/v1\/responses\/([^/]+)\/input_items$/.exec(path);
    if (items) return { GET: async (request, response) => sendJson(response, 200, pageOfInputItems(keptResponse(store, items[1]!).inputItems, queryOf(request))) };
    const retrieve = /^\/v1\/responses\/([^/]+)$/.exec(path);
    if (!retrieve) return undefined;
    return {
      GET: async (_request, response) => sendJson(response, 200, keptResponse(store, retrieve[1]!).response),
      DELETE: async (_request, response) => {
        const id = decodeURIComponent(retrieve[1]!);
        if (!store.delete(id)) throw responseNotFound(id, null);
        sendJson(response, 200, { id, object: 'response', deleted: true });
      },
    };
  };
}

function keptResponse(store: ResponseStore, encodedId: string): StoredResponse {
  const id = decodeURIComponent(encodedId);
  const kept = store.get(id);
  if (!kept) throw responseNotFound(id, null);
  return kept;
}

async function createResponse(body: unknown, response: ServerResponse, services: CompletionServices, store: ResponseStore): Promise<void> {
  const request = parseResponsesRequest(body);
  const previousId = request.previous_response_id ?? null;
  const previous = previousId ? store.get(previousId) : undefined;
  if (previousId && !previous) throw responseNotFound(previousId, 'previous_response_id');
  const history = previous?.conversation ?? [];
  const jobId = randomUUID();
  const { spec, chat } = responsesJobSpec(request, history, jobId);
  const keeps = request.store !== false;
  const reply = new ResponsesReply(response, {
    jobId,
    stream: request.stream === true,
    echo: echoOf(request),
    mode: replyModeOf(chat),
    ...(keeps ? { keep: (answer, output) => store.put(responseIdOf(jobId), { response: answer, conversation: [...history, ...conversationOf(request.input), ...output], inputItems: inputItemsOf(request.input, responseIdOf(jobId)) }) } : {}),
  });
  await serveJobs([spec], reply, response, services);
}

function echoOf(request: ResponsesRequest): ResponseEcho {
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
    store: request.store !== false,
    metadata: request.metadata ?? {},
    user: request.user ?? null,
  };
}
