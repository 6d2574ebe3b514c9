// The responses a node keeps for previous_response_id and GET /v1/responses/{id}: the response object as it was
// answered, and the conversation it ends (input turns and output, without instructions, which OpenAI does not carry
// over). Bounded by count and by bytes (a chain of follow-ups keeps each turn once per response), oldest first. With
// a directory (a node's home/responses), each is also a file there, written before it is answered by id, so a
// restarted node still continues and lists the conversations it kept; the node's job store records jobs only.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
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

export class ResponseStore {
  private readonly entries = new Map<string, { entry: StoredResponse; bytes: number }>();
  private bytes = 0;

  constructor(
    private readonly capacity = MAX_STORED_RESPONSES,
    private readonly maxBytes = MAX_STORED_RESPONSE_BYTES,
    private readonly dir?: string,
  ) {
    if (dir) this.load(dir);
  }

  get(id: string): StoredResponse | undefined {
    return this.entries.get(id)?.entry;
  }

  put(id: string, entry: StoredResponse): void {
    this.delete(id);
    const text = JSON.stringify(entry);
    const bytes = Buffer.byteLength(text);
    if (this.dir) writeAtomically(this.fileOf(id), text);
    this.entries.set(id, { entry, bytes });
    this.bytes += bytes;
    this.evict();
  }

  /**
   * The oldest go first past the bounds (a Map iterates in insertion order), the newest is kept whatever its size, and
   * an unfinished background response stays until it ends (their number is bounded where they are made).
   */
  private evict(): void {
    while (this.entries.size > 1 && (this.entries.size > this.capacity || this.bytes > this.maxBytes)) {
      const oldest = [...this.entries.keys()].slice(0, -1).find((id) => !this.entries.get(id)!.entry.pending);
      if (oldest === undefined) return;
      this.delete(oldest);
    }
  }

  /** The kept responses' ids, oldest first. */
  ids(): string[] {
    return [...this.entries.keys()];
  }

  get size(): number {
    return this.entries.size;
  }

  /** Forgets a response (DELETE /v1/responses/{id}); false when it was not kept. */
  delete(id: string): boolean {
    const kept = this.entries.get(id);
    if (!kept) return false;
    this.bytes -= kept.bytes;
    if (this.dir) rmSync(this.fileOf(id), { force: true });
    return this.entries.delete(id);
  }

  /** The kept files, oldest first; one that does not parse (cut short by a crash mid-write elsewhere) is dropped. */
  private load(dir: string): void {
    mkdirSync(dir, { recursive: true });
    const files = readdirSync(dir)
      .filter((name) => name.endsWith('.json'))
      .map((name) => ({ name, at: statSync(join(dir, name)).mtimeMs }))
      .sort((a, b) => a.at - b.at || a.name.localeCompare(b.name));
    for (const { name } of files) {
      const path = join(dir, name);
      try {
        const text = readFileSync(path, 'utf8');
        this.entries.set(name.slice(0, -'.json'.length), { entry: JSON.parse(text) as StoredResponse, bytes: Buffer.byteLength(text) });
      } catch {
        rmSync(path, { force: true });
      }
    }
    this.bytes = [...this.entries.values()].reduce((sum, kept) => sum + kept.bytes, 0);
    this.evict();
  }

  /** Ids are this node's own (resp_ and a job's UUID); anything else is kept out of the file name. */
  private fileOf(id: string): string {
    return join(this.dir!, `${id.replace(/[^A-Za-z0-9_-]/g, '_')}.json`);
  }
}

/** Written whole or not at all: a crash mid-write leaves the old file (or none), never half of one. */
function writeAtomically(path: string, text: string): void {
  const partial = `${path}.partial`;
  writeFileSync(partial, text);
  renameSync(partial, path);
}
