// OpenAI's conversations (the Responses API's `conversation`, and /v1/conversations): a list of items a node keeps
// under a `conv_` id. A response made with `conversation` continues from its items, and once it has ended (completed
// or incomplete) its input items and its output items are added to it, so the next response continues from there.
// Kept like responses (home/conversations, each a file written before it is answered), bounded by count and bytes.
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { ApiError } from './api-error.js';
import { KeptJsonStore } from './kept-json-store.js';
import { inputItemsOf, type InputItemObject } from './responses-input-items.js';
import { Metadata } from './openai-requests.js';
import { conversationOf, InputItem, type ConversationMessage, type ResponsesRequest } from './responses-requests.js';

/** Conversations kept at once; the oldest goes first past it. */
export const MAX_CONVERSATIONS = 1000;
/** Their JSON size together; the oldest go first past it. */
export const MAX_CONVERSATION_BYTES = 64 * 1024 * 1024;
/** Items a client adds in one request, as at OpenAI. */
export const MAX_ITEMS_PER_ADD = 20;

export interface ConversationObject {
  id: string;
  object: 'conversation';
  created_at: number;
  metadata: Record<string, string>;
}

export interface StoredConversation {
  conversation: ConversationObject;
  /** Oldest first. */
  items: InputItemObject[];
}

export const ConversationCreateRequest = z.object({ items: z.array(InputItem).max(MAX_ITEMS_PER_ADD).nullish(), metadata: Metadata.nullish() }).strict();
export const ConversationUpdateRequest = z.object({ metadata: Metadata.nullable() }).strict();
export const ItemsAddRequest = z.object({ items: z.array(InputItem).min(1).max(MAX_ITEMS_PER_ADD) }).strict();

const newId = (prefix: string) => `${prefix}_${randomBytes(24).toString('hex')}`;

export const conversationNotFound = (id: string, param: string | null = null) => new ApiError(404, 'not_found', `Conversation with id '${id}' not found.`, param);

export class ConversationStore extends KeptJsonStore<StoredConversation> {
  constructor(dir?: string, capacity = MAX_CONVERSATIONS, maxBytes = MAX_CONVERSATION_BYTES) {
    super({ capacity, maxBytes, ...(dir ? { dir } : {}) });
  }

  create(items: readonly InputItem[], metadata: Record<string, string>): ConversationObject {
    const conversation: ConversationObject = { id: newId('conv'), object: 'conversation', created_at: Math.floor(Date.now() / 1000), metadata };
    this.put(conversation.id, { conversation, items: items.length ? itemsOf(items) : [] });
    return conversation;
  }

  /** The kept conversation; 404 (naming `param`, when a request field named it) otherwise. */
  kept(id: string, param: string | null = null): StoredConversation {
    const kept = this.get(id);
    if (!kept) throw conversationNotFound(id, param);
    return kept;
  }

  updateMetadata(id: string, metadata: Record<string, string>): ConversationObject {
    const kept = this.kept(id);
    const conversation = { ...kept.conversation, metadata };
    this.put(id, { ...kept, conversation });
    return conversation;
  }

  /** Adds items at the end; answers them as kept. */
  add(id: string, items: readonly InputItemObject[]): InputItemObject[] {
    const kept = this.kept(id);
    this.put(id, { ...kept, items: [...kept.items, ...items] });
    return [...items];
  }

  item(id: string, itemId: string): InputItemObject {
    const found = this.kept(id).items.find((item) => item.id === itemId);
    if (!found) throw new ApiError(404, 'not_found', `Item with id '${itemId}' not found in conversation '${id}'.`);
    return found;
  }

  deleteItem(id: string, itemId: string): ConversationObject {
    const kept = this.kept(id);
    this.item(id, itemId);
    this.put(id, { ...kept, items: kept.items.filter((item) => item.id !== itemId) });
    return kept.conversation;
  }
}

/** A client's items as kept items: its ids kept, the others new. */
export const itemsOf = (items: readonly InputItem[]): InputItemObject[] => inputItemsOf([...items], newId('resp'));

/** The conversation a request names (a string or `{id}`), or none. */
export const conversationIdOf = (request: Pick<ResponsesRequest, 'conversation'>): string | undefined =>
  typeof request.conversation === 'string' ? request.conversation : (request.conversation?.id ?? undefined);

/**
 * A conversation's items as the turns a response continues from. They were checked as input items when they came,
 * or are a response's output items (messages with output_text parts, function calls), which read the same way.
 */
export const turnsOf = (items: readonly InputItemObject[]): ConversationMessage[] => conversationOf(items as unknown as InputItem[]);

/** After a response on a conversation has ended: its input items and its output items, in that order. */
export function addTurn(store: ConversationStore, conversationId: string, request: ResponsesRequest, response: Record<string, unknown>): void {
  const status = response.status;
  if (status !== 'completed' && status !== 'incomplete') return;
  // Forgotten meanwhile (deleted, or dropped for room): the response still stands on its own.
  if (!store.get(conversationId)) return;
  store.add(conversationId, [...inputItemsOf(request.input, response.id as string), ...(response.output as InputItemObject[])]);
}
