// The content a node holds, under <home>/content: one manifest per root (roots/<cid>.json), the DAG's internal
// nodes (blocks/<cid>, small: one per 174 leaves) and, unless referenced in place, the file itself
// (files/<cid>). Leaves are never stored apart: they are read from the file at their offset, so a file
// referenced in place costs no copy at all.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, stat, writeFile, type FileHandle } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { CID } from 'multiformats/cid';
import { z } from 'zod';
import { isContentIdText } from '../protocol/content-id.js';
import { CHUNK_SIZE, MAX_BLOCK_BYTES } from './constants.js';
import { ContentNotFoundError, ContentStoreError, InvalidCidError } from './errors.js';
import { blockMatches, FileDagBuilder } from './file-dag.js';

const OPEN_FILE_IDLE_MS = 5_000;

export const ContentManifest = z.object({
  v: z.literal(1),
  cid: z.string(),
  size: z.number().int().nonnegative(),
  name: z.string(),
  /** Where the bytes are: files/<cid> for a copy, the original path for content referenced in place. */
  path: z.string(),
  inPlace: z.boolean(),
  /** The file's modification time when added: a file changed since is no longer served. */
  mtimeMs: z.number(),
  leaves: z.number().int().nonnegative(),
  addedAt: z.string(),
});
export type ContentManifest = z.infer<typeof ContentManifest>;

export interface AddContentOptions {
  /** Reference the file where it is instead of copying it into the store. */
  inPlace?: boolean;
  name?: string;
  /** Called after each leaf with the bytes hashed so far. */
  onProgress?: (bytes: number) => void;
}

/** Parses a content id; a bad one is a named error, not a crash. */
export function parseCid(text: string): CID {
  try {
    // The characters of base32 and base58btc only: CID.parse ignores nothing, but a path must never see `/` or `.`.
    if (!isContentIdText(text.trim())) throw new Error('not a CID in base32 or base58btc');
    const cid = CID.parse(text.trim());
    if (cid.version !== 1) return cid.toV1();
    return cid;
  } catch (cause) {
    throw new InvalidCidError(text, { cause });
  }
}

export class ContentStore {
  readonly dir: string;
  private readonly manifests = new Map<string, { manifest: ContentManifest; readAt: number }>();
  private readonly openFiles = new Map<string, { handle: Promise<FileHandle>; timer: NodeJS.Timeout }>();

  constructor(homeDir: string) {
    this.dir = join(homeDir, 'content');
  }

  private get rootsDir(): string {
    return join(this.dir, 'roots');
  }
  private get blocksDir(): string {
    return join(this.dir, 'blocks');
  }
  private get filesDir(): string {
    return join(this.dir, 'files');
  }

  /**
   * Chunks and hashes a file, streaming: one chunk in memory at a time. Copies it into the store while reading
   * unless inPlace; stores the internal nodes; writes the manifest last, so a crash leaves no half-added entry.
   */
  async add(path: string, options: AddContentOptions = {}): Promise<ContentManifest> {
    const source = resolve(path);
    const info = await stat(source).catch((cause: unknown) => {
      throw new ContentStoreError(`cannot read ${source}: ${(cause as Error).message}`, { cause });
    });
    if (!info.isFile()) throw new ContentStoreError(`${source} is not a regular file`);
    await this.ensureDirs();
    const nodes: Array<[CID, Uint8Array]> = [];
    const builder = new FileDagBuilder({ onNode: (cid, bytes) => nodes.push([cid, bytes]) });
    const copyPath = join(this.dir, 'tmp', `${randomBytes(8).toString('hex')}.part`);
    const input = await open(source, 'r');
    const copy = options.inPlace ? undefined : await open(copyPath, 'w');
    let size = 0;
    try {
      const chunk = Buffer.allocUnsafe(CHUNK_SIZE);
      for (;;) {
        const length = await readFull(input, chunk, size);
        if (length === 0) break;
        const leaf = chunk.subarray(0, length);
        builder.addLeaf(leaf);
        if (copy) await copy.write(leaf, 0, length, size);
        size += length;
        // Internal nodes are written as they come, so a file of any size keeps a few of them in memory.
        if (nodes.length) await this.putBlocks(nodes.splice(0));
        options.onProgress?.(size);
        if (length < CHUNK_SIZE) break;
      }
      const root = builder.finish();
      await this.putBlocks(nodes.splice(0));
      const cid = root.cid.toString();
      let storedPath = source;
      if (copy) {
        await copy.sync();
        await copy.close();
        storedPath = join(this.filesDir, cid);
        await rename(copyPath, storedPath);
      }
      const mtimeMs = (await stat(storedPath)).mtimeMs;
      const manifest: ContentManifest = { v: 1, cid, size, name: options.name ?? basename(source), path: storedPath, inPlace: Boolean(options.inPlace), mtimeMs, leaves: builder.leafCount, addedAt: new Date().toISOString() };
      await this.writeManifest(manifest);
      return manifest;
    } finally {
      await input.close();
      if (copy) {
        await copy.close().catch(() => undefined);
        await rm(copyPath, { force: true });
      }
    }
  }

  /** Registers a file whose DAG was verified elsewhere (a completed fetch), referenced in place. */
  async register(manifest: Omit<ContentManifest, 'v' | 'addedAt' | 'mtimeMs' | 'inPlace'>): Promise<ContentManifest> {
    await this.ensureDirs();
    const mtimeMs = (await stat(manifest.path)).mtimeMs;
    const full: ContentManifest = { v: 1, ...manifest, inPlace: true, mtimeMs, addedAt: new Date().toISOString() };
    await this.writeManifest(full);
    return full;
  }

  async list(): Promise<ContentManifest[]> {
    const names = await readdir(this.rootsDir).catch(() => [] as string[]);
    const manifests: ContentManifest[] = [];
    for (const name of names.filter((entry) => entry.endsWith('.json') && isContentIdText(entry.slice(0, -'.json'.length))).sort()) {
      const manifest = await this.manifest(name.slice(0, -'.json'.length)).catch(() => undefined);
      if (manifest) manifests.push(manifest);
    }
    return manifests;
  }

  /**
   * The manifest of a root, when this node holds it and its file is unchanged since it was added. The id is parsed
   * as a CID and its canonical text names the file: an id from a peer never becomes a path of its own choosing.
   */
  async manifest(text: string): Promise<ContentManifest | undefined> {
    const cid = parseCid(text).toString();
    const cached = this.manifests.get(cid);
    // A short cache: serving reads the manifest for every block.
    if (cached && Date.now() - cached.readAt < 1_000) return cached.manifest;
    let manifest: ContentManifest;
    try {
      manifest = ContentManifest.parse(JSON.parse(await readFile(join(this.rootsDir, `${cid}.json`), 'utf8')));
    } catch {
      this.manifests.delete(cid);
      return undefined;
    }
    const info = await stat(manifest.path).catch(() => undefined);
    if (!info || info.size !== manifest.size || info.mtimeMs !== manifest.mtimeMs) {
      this.manifests.delete(cid);
      return undefined;
    }
    this.manifests.set(cid, { manifest, readAt: Date.now() });
    return manifest;
  }

  /** Bytes [offset, offset + length) of a held root's file: a leaf of its DAG. */
  async readRange(root: string, offset: number, length: number): Promise<Uint8Array> {
    const manifest = await this.manifest(root);
    if (!manifest) throw new ContentNotFoundError(`this node does not hold ${root}`);
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || length > MAX_BLOCK_BYTES || offset + length > manifest.size) {
      throw new ContentNotFoundError(`bytes ${offset}+${length} lie outside ${root} (${manifest.size} bytes)`);
    }
    const file = await this.openForReading(manifest.path);
    const bytes = Buffer.allocUnsafe(length);
    const read = await readFull(file, bytes, offset);
    if (read !== length) throw new ContentNotFoundError(`${manifest.path} is shorter than its manifest says`);
    return bytes;
  }

  /** Files being served stay open between blocks, and are closed after a few idle seconds. */
  private async openForReading(path: string): Promise<FileHandle> {
    const cached = this.openFiles.get(path);
    if (cached) {
      cached.timer.refresh();
      return cached.handle;
    }
    const opening = open(path, 'r');
    const entry = {
      handle: opening,
      timer: setTimeout(() => {
        this.openFiles.delete(path);
        void opening.then((handle) => handle.close()).catch(() => undefined);
      }, OPEN_FILE_IDLE_MS).unref(),
    };
    this.openFiles.set(path, entry);
    try {
      return await opening;
    } catch (error) {
      clearTimeout(entry.timer);
      this.openFiles.delete(path);
      throw error;
    }
  }

  /** An internal node, checked against its CID on the way out of the disk. */
  async getBlock(cid: CID): Promise<Uint8Array | undefined> {
    const bytes = await readFile(join(this.blocksDir, cid.toString())).catch(() => undefined);
    if (!bytes || !blockMatches(cid, bytes)) return undefined;
    return bytes;
  }

  /** Stores verified internal nodes (write then rename: a reader never sees half a block). */
  async putBlocks(blocks: ReadonlyArray<readonly [CID, Uint8Array]>): Promise<void> {
    if (!blocks.length) return;
    await this.ensureDirs();
    for (const [cid, bytes] of blocks) {
      const target = join(this.blocksDir, cid.toString());
      const temporary = `${target}.${randomBytes(4).toString('hex')}.tmp`;
      await writeFile(temporary, bytes);
      await rename(temporary, target);
    }
  }

  private async writeManifest(manifest: ContentManifest): Promise<void> {
    const target = join(this.rootsDir, `${manifest.cid}.json`);
    const temporary = `${target}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(temporary, JSON.stringify(manifest, null, 2) + '\n');
    await rename(temporary, target);
    this.manifests.delete(manifest.cid);
  }

  private async ensureDirs(): Promise<void> {
    for (const dir of [this.rootsDir, this.blocksDir, this.filesDir, join(this.dir, 'tmp')]) await mkdir(dir, { recursive: true });
  }
}

/** Reads until the buffer is full or the file ends; returns the bytes read. */
export async function readFull(file: FileHandle, buffer: Buffer, position: number): Promise<number> {
  let filled = 0;
  while (filled < buffer.byteLength) {
    const { bytesRead } = await file.read(buffer, filled, buffer.byteLength - filled, position + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return filled;
}

/** sha256 of a whole file, streaming (for tests, benchmarks and `content get --json`). */
export async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  const file = await open(path, 'r');
  try {
    const buffer = Buffer.allocUnsafe(4 * 1024 * 1024);
    for (let position = 0; ; ) {
      const read = await readFull(file, buffer, position);
      if (read === 0) break;
      hash.update(buffer.subarray(0, read));
      position += read;
    }
  } finally {
    await file.close();
  }
  return hash.digest('hex');
}
