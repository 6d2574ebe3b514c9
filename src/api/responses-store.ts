// The responses a node keeps for previous_response_id and GET /v1/responses/{id}: the response object as it was
// answered, and the conversation it ends (input turns and output, without instructions, which OpenAI does not carry
// over). Bounded by count and by bytes (a chain of follow-ups keeps each turn once per response), oldest first. With
// a directory (a node's home/responses), each is also a file there, written before it is answered by id, so a
// restarted node still continues and lists the conversations it kept; the node's job store records jobs only.
import { ApiError } from './api-error.js';
import { KeptJsonStore } from './kept-json-store.js';
import type { ConversationMessage, ResponsesRequest } from './responses-requests.js';
import type { InputItemObject } from './responses-input-items.js';

/** Responses kept at once; the oldest goes first past it. */
export const MAX_STORED_RESPONSES = 1000;
/** Their JSON size together; the oldest go first past it (the newest is kept whatever its size). */
export const MAX_STORED_RESPONSE_BYTES = 64 * 1024 * 1024;

export interface StoredResponse {
  /** The response object as the client got it. */
  response: Record<string, unknown>;
  /** The turns a follow-up continues from. */
  conversation: ConversationMessage[];
  /** The items the response was asked with, for GET /v1/responses/{id}/input_items. */
  inputItems: InputItemObject[];
  /** A background response not yet ended: its request, and the turns it continues, to run it again after a restart. */
  pending?: { request: ResponsesRequest; history: ConversationMessage[] };
}

/** 404 for a response the node does not keep; `param` names the request field that named it (previous_response_id). */
export const responseNotFound = (id: string, param: string | null = null) =>
  new ApiError(404, param ? 'previous_response_not_found' : 'not_found', `${param ? 'Previous response' : 'Response'} with id '${id}' not found.`, param);

/** A running background response is pinned: it is dropped for room only once it has ended. */
export class ResponseStore extends KeptJsonStore<StoredResponse> {
  constructor(capacity = MAX_STORED_RESPONSES, maxBytes = MAX_STORED_RESPONSE_BYTES, dir?: string) {
    super({ capacity, maxBytes, ...(dir ? { dir } : {}), pinned: (entry) => entry.pending !== undefined });
  }
}
