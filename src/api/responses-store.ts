// The responses a node keeps for previous_response_id and GET /v1/responses/{id}: the response object as it was
// answered, and the conversation it ends (input turns and output, without instructions, which OpenAI does not carry
// over). Kept in memory, bounded: the node's job store records jobs, not conversations, and a restart forgets them.
import type { ConversationMessage } from './responses-requests.js';

/** Conversations kept at once; the oldest goes first past it. */
export const MAX_STORED_RESPONSES = 1000;

export interface StoredResponse {
  /** The response object as the client got it. */
  response: Record<string, unknown>;
  /** The turns a follow-up continues from. */
  conversation: ConversationMessage[];
}

export class ResponseStore {
  private readonly entries = new Map<string, StoredResponse>();

  constructor(private readonly capacity = MAX_STORED_RESPONSES) {}

  get(id: string): StoredResponse | undefined {
    return this.entries.get(id);
  }

  put(id: string, entry: StoredResponse): void {
    this.entries.delete(id);
    this.entries.set(id, entry);
    // A Map iterates in insertion order: the first key is the oldest.
    while (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
  }

  get size(): number {
    return this.entries.size;
  }
}
