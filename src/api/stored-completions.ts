// Stored chat completions (`store: true` on POST /v1/chat/completions): the node keeps the completion as it was
// answered, with the request's messages and its metadata, for OpenAI's stored-completion routes (list, retrieve,
// update its metadata, delete, list its messages). Kept like responses (home/chat-completions, each a file written
// before the answer's last byte goes), bounded by count and bytes, oldest dropped first.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { ApiError, badRequest } from './api-error.js';
import { cursorPage, OPENAI_PAGE_LIMITS, queryOf } from './cursor-page.js';
import { sendJson } from './http-replies.js';
import { KeptJsonStore } from './kept-json-store.js';
import { Metadata, parseRequestBody } from './openai-requests.js';
import { readJsonBody } from './read-json-body.js';

export const MAX_STORED_COMPLETIONS = 1000;
export const MAX_STORED_COMPLETION_BYTES = 64 * 1024 * 1024;

export interface StoredCompletion {
  /** The chat.completion object, with the request's metadata. */
  completion: Record<string, unknown> & { id: string; model: string; metadata: Record<string, string> };
  /** The request's messages, each with an id (`<completion id>-<index>`). */
  messages: Array<Record<string, unknown> & { id: string }>;
}

export class StoredCompletions extends KeptJsonStore<StoredCompletion> {
  constructor(dir?: string) {
    super({ capacity: MAX_STORED_COMPLETIONS, maxBytes: MAX_STORED_COMPLETION_BYTES, ...(dir ? { dir } : {}) });
  }

  /** Keeps a whole completion, its request's messages and metadata. */
  keep(completion: Record<string, unknown> & { id: string; model: string }, messages: readonly object[], metadata: Record<string, string>): void {
    this.put(completion.id, { completion: { ...completion, metadata }, messages: messages.map((message, index) => ({ id: `${completion.id}-${index}`, ...message })) });
  }

  kept(id: string): StoredCompletion {
    const kept = this.get(id);
    if (!kept) throw new ApiError(404, 'not_found', `Chat completion with id '${id}' not found (only completions made with store: true are kept).`);
    return kept;
  }
}

const UpdateRequest = z.object({ metadata: Metadata.nullable() }).strict();

type Route = (request: IncomingMessage, response: ServerResponse, path: string) => Promise<void>;

/** GET /v1/chat/completions: the stored completions, oldest first by default, filtered by `model` and `metadata[key]`. */
export function listStoredCompletions(store: StoredCompletions): Route {
  return async (request, response) => {
    const query = queryOf(request);
    const model = query.get('model');
    const wanted = [...query.entries()].flatMap(([key, value]) => {
      const name = /^metadata\[(.+)\]$/.exec(key)?.[1];
      return name ? [[name, value] as const] : [];
    });
    const completions = store
      .ids()
      .map((id) => store.get(id)!.completion)
      .filter((completion) => (!model || completion.model === model) && wanted.every(([key, value]) => completion.metadata[key] === value));
    sendJson(response, 200, cursorPage(completions, query, { ...OPENAI_PAGE_LIMITS, defaultOrder: 'asc', unknownCursor: (id) => `no stored chat completion '${id}'` }));
  };
}

/** The routes of one stored completion and its messages, or undefined for another path. */
export function storedCompletionRoutes(store: StoredCompletions): (path: string) => Record<string, Route> | undefined {
  return (path): Record<string, Route> | undefined => {
    const match = /^\/v1\/chat\/completions\/([^/]+)(\/messages)?$/.exec(path);
    if (!match) return undefined;
    const id = decodeURIComponent(match[1]!);
    if (match[2]) {
      return {
        GET: async (request, response) => {
          sendJson(response, 200, cursorPage(store.kept(id).messages, queryOf(request), { ...OPENAI_PAGE_LIMITS, defaultOrder: 'asc', unknownCursor: (message) => `no message '${message}' in chat completion '${id}'` }));
        },
      };
    }
    return {
      GET: async (_request, response) => sendJson(response, 200, store.kept(id).completion),
      POST: async (request, response) => {
        const kept = store.kept(id);
        const { metadata } = parseRequestBody(UpdateRequest, await readJsonBody(request));
        const completion = { ...kept.completion, metadata: metadata ?? {} };
        store.put(id, { ...kept, completion });
        sendJson(response, 200, completion);
      },
      DELETE: async (_request, response) => {
        store.kept(id);
        store.delete(id);
        sendJson(response, 200, { object: 'chat.completion.deleted', id, deleted: true });
      },
    };
  };
}

/** `metadata` describes a stored completion: without `store` it would describe nothing, and is refused rather than dropped. */
export function checkStoreFields(request: { store?: boolean | null | undefined; metadata?: Record<string, string> | null | undefined }): void {
  if (request.metadata && Object.keys(request.metadata).length && request.store !== true) throw badRequest('metadata is kept with a stored completion: send it with store: true.', 'metadata');
}
