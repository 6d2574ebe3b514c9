// OpenAI's Responses API on the API's port: POST /v1/responses runs one Infernet job, as a chat completion does;
// GET /v1/responses/{id} answers a kept response, GET /v1/responses/{id}/input_items lists what it was asked with and
// DELETE /v1/responses/{id} forgets it. previous_response_id continues a kept conversation. `background: true` queues
// the response and answers at once (background-responses.ts); POST /v1/responses/{id}/cancel ends one.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { badRequest } from './api-error.js';
import { sendJson } from './http-replies.js';
import { replyModeOf } from './openai-requests.js';
import { readJsonBody } from './read-json-body.js';
import { echoOf, ResponsesReply, responseIdOf } from './responses-reply.js';
import { conversationOf, parseResponsesRequest, responsesJobSpec, type ConversationMessage, type ResponsesRequest } from './responses-requests.js';
import { isUnfinished, statusOf, type BackgroundResponses } from './background-responses.js';
import { addTurn, conversationIdOf, turnsOf, type ConversationStore } from './conversations.js';
import { responseNotFound, type ResponseStore, type StoredResponse } from './responses-store.js';
import { inputItemsOf, pageOfInputItems } from './responses-input-items.js';
import { queryOf } from './cursor-page.js';
import { serveJobs, type CompletionServices } from './serve-completion.js';

type Route = (request: IncomingMessage, response: ServerResponse, path: string) => Promise<void>;

/** The routes for a path, or undefined when it is not a Responses route. */
export function responsesRoutes(services: CompletionServices, store: ResponseStore, background: BackgroundResponses, conversations: ConversationStore): (path: string) => Record<string, Route> | undefined {
  return (path): Record<string, Route> | undefined => {
    if (path === '/v1/responses') return { POST: async (request, response) => createResponse(await readJsonBody(request), response, services, { store, background, conversations }) };
    const cancel = /^\/v1\/responses\/([^/]+)\/cancel$/.exec(path);
    if (cancel) return { POST: async (_request, response) => sendJson(response, 200, background.cancel(decodeURIComponent(cancel[1]!))) };
    const items = /^\/v1\/responses\/([^/]+)\/input_items$/.exec(path);
    if (items) return { GET: async (request, response) => sendJson(response, 200, pageOfInputItems(keptResponse(store, items[1]!).inputItems, queryOf(request))) };
    const retrieve = /^\/v1\/responses\/([^/]+)$/.exec(path);
    if (!retrieve) return undefined;
    return {
      GET: async (request, response) => {
        const query = queryOf(request);
        if (query.get('stream') !== 'true') return sendJson(response, 200, keptResponse(store, retrieve[1]!).response);
        background.follow(decodeURIComponent(retrieve[1]!), response, startingAfterOf(query));
      },
      DELETE: async (_request, response) => {
        const id = decodeURIComponent(retrieve[1]!);
        if (!background.delete(id)) throw responseNotFound(id, null);
        sendJson(response, 200, { id, object: 'response', deleted: true });
      },
    };
  };
}

/** `starting_after`: the last sequence number the client saw; none, from the first event. */
function startingAfterOf(query: URLSearchParams): number {
  const text = query.get('starting_after');
  if (text === null) return -1;
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value)) throw badRequest(`starting_after is a sequence number (an integer from 0), not '${text}'.`, 'starting_after');
  return value;
}

/** The turns a request continues: those of the conversation it names, or of the kept response it names, which must have ended. */
function historyOf(request: ResponsesRequest, store: ResponseStore, conversations: ConversationStore): readonly ConversationMessage[] {
  const conversationId = conversationIdOf(request);
  if (conversationId && request.previous_response_id) throw badRequest('previous_response_id cannot be used with conversation: the conversation holds the turns a response continues.', 'conversation');
  if (conversationId) return turnsOf(conversations.kept(conversationId, 'conversation').items);
  const previousId = request.previous_response_id;
  if (!previousId) return [];
  const previous = store.get(previousId);
  if (!previous) throw responseNotFound(previousId, 'previous_response_id');
  if (isUnfinished(previous)) throw badRequest(`Previous response with id '${previousId}' is still ${statusOf(previous)}: continue it once it has ended.`, 'previous_response_id');
  return previous.conversation;
}

function keptResponse(store: ResponseStore, encodedId: string): StoredResponse {
  const id = decodeURIComponent(encodedId);
  const kept = store.get(id);
  if (!kept) throw responseNotFound(id, null);
  return kept;
}

interface Kept {
  store: ResponseStore;
  background: BackgroundResponses;
  conversations: ConversationStore;
}

async function createResponse(body: unknown, response: ServerResponse, services: CompletionServices, { store, background, conversations }: Kept): Promise<void> {
  const request = parseResponsesRequest(body);
  const history = historyOf(request, store, conversations);
  const jobId = randomUUID();
  const { spec, chat } = responsesJobSpec(request, history, jobId);
  if (request.background) {
    if (request.store === false) throw badRequest('A background response is kept for its client to poll: background cannot be set with store false.', 'store');
    const queued = background.create(request, history);
    // A stream follows its kept events from the first (response.created); the connection going away stops nothing.
    return request.stream ? background.follow(queued.id as string, response, -1) : sendJson(response, 200, queued);
  }
  const keeps = request.store !== false;
  const conversationId = conversationIdOf(request);
  const reply = new ResponsesReply(response, {
    jobId,
    stream: request.stream === true,
    echo: echoOf(request),
    mode: replyModeOf(chat),
    ...(keeps || conversationId
      ? {
          keep: (answer: Record<string, unknown>, output: ConversationMessage[]) => {
            if (keeps) store.put(responseIdOf(jobId), { response: answer, conversation: [...history, ...conversationOf(request.input), ...output], inputItems: inputItemsOf(request.input, responseIdOf(jobId)) });
            if (conversationId) addTurn(conversations, conversationId, request, answer);
          },
        }
      : {}),
  });
  await serveJobs([spec], reply, response, services);
}
