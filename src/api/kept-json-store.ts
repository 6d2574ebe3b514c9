// Objects an API node keeps for its clients (Responses API responses, conversations): in memory, bounded by count and
// by the bytes of their JSON, oldest first; with a directory, each also a file there, written whole before it is
// answered, so a restarted node still has them. An entry the owner pins (a response still running) is never the one
// dropped.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface KeptJsonStoreOptions<T> {
  /** Entries kept at once; the oldest goes first past it. */
  capacity: number;
  /** Their JSON size together; the oldest go first past it (the newest is kept whatever its size). */
  maxBytes: number;
  /** Where each entry is also a file (`<id>.json`); memory only without. */
  dir?: string;
  /** An entry never dropped for room while this holds (their number is bounded where they are made). */
  pinned?: (entry: T) => boolean;
}

export class KeptJsonStore<T extends object> {
  private readonly entries = new Map<string, { entry: T; bytes: number }>();
  private bytes = 0;

  constructor(private readonly options: KeptJsonStoreOptions<T>) {
    if (options.dir) this.load(options.dir);
  }

  get(id: string): T | undefined {
    return this.entries.get(id)?.entry;
  }

  /** Keeps `entry` as the newest (a put of a kept id replaces it). */
  put(id: string, entry: T): void {
    this.delete(id);
    const text = JSON.stringify(entry);
    const bytes = Buffer.byteLength(text);
    if (this.options.dir) writeAtomically(this.fileOf(id), text);
    this.entries.set(id, { entry, bytes });
    this.bytes += bytes;
    this.evict();
  }

  /** The kept ids, oldest first. */
  ids(): string[] {
    return [...this.entries.keys()];
  }

  get size(): number {
    return this.entries.size;
  }

  /** Forgets an entry; false when it was not kept. */
  delete(id: string): boolean {
    const kept = this.entries.get(id);
    if (!kept) return false;
    this.bytes -= kept.bytes;
    if (this.options.dir) rmSync(this.fileOf(id), { force: true });
    return this.entries.delete(id);
  }

  /** The oldest unpinned entry goes first past the bounds (a Map iterates in insertion order); never the newest. */
  private evict(): void {
    const { capacity, maxBytes, pinned } = this.options;
    while (this.entries.size > 1 && (this.entries.size > capacity || this.bytes > maxBytes)) {
      const oldest = [...this.entries.keys()].slice(0, -1).find((id) => !pinned?.(this.entries.get(id)!.entry));
      if (oldest === undefined) return;
      this.delete(oldest);
    }
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
        this.entries.set(name.slice(0, -'.json'.length), { entry: JSON.parse(text) as T, bytes: Buffer.byteLength(text) });
      } catch {
        rmSync(path, { force: true });
      }
    }
    this.bytes = [...this.entries.values()].reduce((sum, kept) => sum + kept.bytes, 0);
    this.evict();
  }

  /** Ids are this node's own (a prefix and random hex); anything else is kept out of the file name. */
  private fileOf(id: string): string {
    return join(this.options.dir!, `${id.replace(/[^A-Za-z0-9_-]/g, '_')}.json`);
  }
}

/** Written whole or not at all: a crash mid-write leaves the old file (or none), never half of one. */
function writeAtomically(path: string, text: string): void {
  const partial = `${path}.partial`;
  writeFileSync(partial, text);
  renameSync(partial, path);
}
