// Content upload from the interface: the bytes arrive over HTTP (so the browser can show upload progress), are
// written under <home>/uploads, then added to the node's content store (src/content), which copies them under
// their CID; the daemon serves and announces what the store holds.
import { createWriteStream } from 'node:fs';
import { mkdir, rm, statfs } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { basename, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ContentStore, ContentStoreError, UnsupportedContentError, type ContentManifest } from '../content/index.js';
import { ByteLimit } from '../api/byte-limit.js';
import type { ContentItem } from './app-messages.js';
import { InfernetError } from '../errors/index.js';

export const CONTENT_KINDS = ['model', 'dataset', 'other'] as const;

/** The largest upload taken whatever the disk holds: far above any model file, well short of "unbounded". */
export const MAX_CONTENT_UPLOAD_BYTES = 2 ** 40;
/** Disk space an upload must leave free, so that a large one cannot starve PocketBase and the job store. */
const FREE_DISK_RESERVE_BYTES = 2 ** 30;

export interface ContentUploadLimits {
  /** At most this many bytes, below what the disk allows; MAX_CONTENT_UPLOAD_BYTES when absent. */
  maxBytes?: number;
}

export class ContentUploadError extends InfernetError {
  override readonly name = 'ContentUploadError';
  constructor(
    readonly status: number,
    message: string,
    options?: ErrorOptions,
  ) {
    super('internal', message, options);
  }
}

/** A file name the upload may use: no folders, no hidden files, printable characters only. */
export function uploadFileNameOf(name: string | null): string {
  const base = basename(name ?? '').replace(/[^A-Za-z0-9._ -]/g, '_').trim();
  if (!base || base.startsWith('.')) throw new ContentUploadError(400, 'the upload needs a file name (?name=FILE), not starting with a dot');
  return base.slice(0, 200);
}

export interface ContentAdded extends ContentItem {
  kind: string;
}

export function contentItemOf(manifest: ContentManifest): ContentItem {
  return { cid: manifest.cid, name: manifest.name, size: manifest.size, inPlace: manifest.inPlace, addedAt: manifest.addedAt };
}

export async function listContent(homeDir: string): Promise<ContentItem[]> {
  return (await new ContentStore(homeDir).list()).map(contentItemOf);
}

const uploadTooLarge = (limit: number) => new ContentUploadError(413, `the upload is larger than ${limit} bytes, the most this node takes now (its limit, or half its free disk space)`);

/**
 * The most bytes an upload may have: the limit, and half the disk space left free beyond a reserve, since the
 * content store copies the uploaded file under its CID before the upload is removed.
 */
async function uploadLimitOf(dir: string, limits: ContentUploadLimits): Promise<number> {
  const disk = await statfs(dir);
  const free = Math.max(0, disk.bavail * disk.bsize - FREE_DISK_RESERVE_BYTES);
  return Math.min(limits.maxBytes ?? MAX_CONTENT_UPLOAD_BYTES, Math.floor(free / 2));
}

export async function receiveContentUpload(request: IncomingMessage, homeDir: string, limits: ContentUploadLimits = {}): Promise<ContentAdded> {
  const url = new URL(request.url ?? '/', 'http://app');
  const name = uploadFileNameOf(url.searchParams.get('name'));
  const kind = url.searchParams.get('kind') ?? 'model';
  if (!(CONTENT_KINDS as readonly string[]).includes(kind)) throw new ContentUploadError(400, `kind must be one of ${CONTENT_KINDS.join(', ')}`);
  const dir = join(homeDir, 'uploads');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const limit = await uploadLimitOf(dir, limits);
  // A declared length over the limit is refused before a byte of it is written.
  if (Number(request.headers['content-length'] ?? 0) > limit) throw uploadTooLarge(limit);
  // A name of its own per upload: two uploads of the same file name must not write into one file.
  const file = join(dir, `${Date.now()}-${process.hrtime.bigint()}-${name}`);
  let bytes = 0;
  request.on('data', (chunk: Buffer) => (bytes += chunk.length));
  // A chunked body declares no length: it is counted as it comes. The request is piped, not handed to the
  // pipeline, so that refusing the body leaves its socket open for the 413.
  const counted = new ByteLimit(limit, uploadTooLarge);
  request.pipe(counted);
  request.once('close', () => {
    if (!request.complete) counted.destroy(new Error(`the client closed the connection after ${bytes} bytes`));
  });
  try {
    await pipeline(counted, createWriteStream(file, { mode: 0o600 }));
    const manifest = await new ContentStore(homeDir).add(file, { name });
    return { ...contentItemOf(manifest), kind };
  } catch (error) {
    if (counted.exceeded) {
      request.unpipe(counted);
      throw uploadTooLarge(limit);
    }
    if (error instanceof ContentStoreError || error instanceof UnsupportedContentError) throw new ContentUploadError(400, error.message, { cause: error });
    if (bytes === 0 || request.readableAborted) throw new ContentUploadError(400, `the upload broke off after ${bytes} bytes: ${(error as Error).message}`, { cause: error });
    throw error;
  } finally {
    await rm(file, { force: true }); // the store keeps its own copy; a half upload is not content
  }
}
