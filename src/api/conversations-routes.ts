// OpenAI's Conversations API (the official clients' `conversations` and `conversations.items`): create, retrieve,
// update (metadata) and delete a conversation; add, list (paged), retrieve and delete its items.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { badRequest } from './api-error.js';
import { ConversationCreateRequest, ConversationUpdateRequest, itemsOf, ItemsAddRequest, type ConversationStore } from './conversations.js';
import { cursorPage, OPENAI_PAGE_LIMITS, queryOf } from './cursor-page.js';
import { sendJson } from './http-replies.js';
import { parseRequestBody } from './openai-requests.js';
import { readJsonBody } from './read-json-body.js';

type Route = (request: IncomingMessage, response: ServerResponse, path: string) => Promise<void>;

/** The routes for a path, or undefined when it is not a Conversations route. */
export function conversationsRoutes(store: ConversationStore): (path: string) => Record<string, Route> | undefined {
  return (path): Record<string, Route> | undefined => {
    if (path === '/v1/conversations') {
      return {
        POST: async (request, response) => {
          const body = parseRequestBody(ConversationCreateRequest, await readJsonBody(request));
          sendJson(response, 200, store.create(body.items ?? [], body.metadata ?? {}));
        },
      };
    }
    const match = /^\/v1\/conversations\/([^/]+)(?:\/items(?:\/([^/]+))?)?$/.exec(path);
    if (!match) return undefined;
    const id = decodeURIComponent(match[1]!);
    if (match[2]) return itemRoutes(store, id, decodeURIComponent(match[2]));
    if (path.endsWith('/items')) return itemListRoutes(store, id);
    return {
      GET: async (_request, response) => sendJson(response, 200, store.kept(id).conversation),
      POST: async (request, response) => {
        const body = parseRequestBody(ConversationUpdateRequest, await readJsonBody(request));
        sendJson(response, 200, store.updateMetadata(id, body.metadata ?? {}));
      },
      DELETE: async (_request, response) => {
        store.kept(id);
        store.delete(id);
        sendJson(response, 200, { id, object: 'conversation.deleted', deleted: true });
      },
    };
  };
}

function itemListRoutes(store: ConversationStore, id: string): Record<string, Route> {
  return {
    GET: async (request, response) => {
      const query = queryOf(request);
      refuseInclude(query);
      sendJson(response, 200, cursorPage(store.kept(id).items, query, { ...OPENAI_PAGE_LIMITS, unknownCursor: (item) => `no item '${item}' in conversation '${id}'` }));
    },
    POST: async (request, response) => {
      refuseInclude(queryOf(request));
      store.kept(id);
      const body = parseRequestBody(ItemsAddRequest, await readJsonBody(request));
      const data = store.add(id, itemsOf(body.items));
      sendJson(response, 200, { object: 'list', data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: false });
    },
  };
}

function itemRoutes(store: ConversationStore, id: string, itemId: string): Record<string, Route> {
  return {
    GET: async (request, response) => {
      refuseInclude(queryOf(request));
      sendJson(response, 200, store.item(id, itemId));
    },
    DELETE: async (_request, response) => sendJson(response, 200, store.deleteItem(id, itemId)),
  };
}

/** `include` asks for fields (logprobs, image URLs, ...) no item here has: refused by name rather than ignored. */
function refuseInclude(query: URLSearchParams): void {
  const include = [...query.getAll('include'), ...query.getAll('include[]')];
  if (include.length) throw badRequest(`include (${include.join(', ')}) is not supported by Infernet: its items carry no such fields.`, 'include');
}
