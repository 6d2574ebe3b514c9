// The responses a node keeps for previous_response_id and GET /v1/responses/{id}: the response object as it was
// answered, and the conversation it ends (input turns and output, without instructions, which OpenAI does not carry
// over). Kept in memory, bounded by count and by bytes (a chain of follow-ups keeps each turn once per response):
// the node's job store records jobs, not conversations, and a restart forgets them.
import type { ConversationMessage } from './responses-requests.js';
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
}

export class ResponseStore {
  private readonly entries = new Map<string, { entry: StoredResponse; bytes: number }>();
  private bytes = 0;

  constructor(
    private readonly capacity = MAX_STORED_RESPONSES,
    private readonly maxBytes = MAX_STORED_RESPONSE_BYTES,
  ) {}

  get(id: string): StoredResponse | undefined {
    return this.entries.get(id)?.entry;
  }

  put(id: string, entry: StoredResponse): void {
    this.delete(id);
    const bytes = Buffer.byteLength(JSON.stringify(entry));
    this.entries.set(id, { entry, bytes });
    this.bytes += bytes;
    // A Map iterates in insertion order: the first key is the oldest.
    while (this.entries.size > 1 && (this.entries.size > this.capacity || this.bytes > this.maxBytes)) this.delete(this.entries.keys().next().value!);
  }

  get size(): number {
    return this.entries.size;
  }

  /** Forgets a response (DELETE /v1/responses/{id}); false when it was not kept. */
  delete(id: string): boolean {
    const kept = this.entries.get(id);
    if (!kept) return false;
    this.bytes -= kept.bytes;
    return this.entries.delete(id);
  }
}
