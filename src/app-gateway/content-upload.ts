// Content upload from the interface: the bytes arrive over HTTP (so the browser can show upload progress), are
// written under <home>/uploads, then added to the node's content store (src/content), which copies them under
// their CID; the daemon serves and announces what the store holds.
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { basename, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ContentStore, ContentStoreError, UnsupportedContentError, type ContentManifest } from '../content/index.js';
import type { ContentItem } from './app-messages.js';
import { InfernetError } from '../errors/index.js';

export const CONTENT_KINDS = ['model', 'dataset', 'other'] as const;

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

export async function receiveContentUpload(request: IncomingMessage, homeDir: string): Promise<ContentAdded> {
  const url = new URL(request.url ?? '/', 'http://app');
  const name = uploadFileNameOf(url.searchParams.get('name'));
  const kind = url.searchParams.get('kind') ?? 'model';
  if (!(CONTENT_KINDS as readonly string[]).includes(kind)) throw new ContentUploadError(400, `kind must be one of ${CONTENT_KINDS.join(', ')}`);
  const dir = join(homeDir, 'uploads');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  // A name of its own per upload: two uploads of the same file name must not write into one file.
  const file = join(dir, `${Date.now()}-${process.hrtime.bigint()}-${name}`);
  let bytes = 0;
  request.on('data', (chunk: Buffer) => (bytes += chunk.length));
  try {
    await pipeline(request, createWriteStream(file, { mode: 0o600 }));
    const manifest = await new ContentStore(homeDir).add(file, { name });
    return { ...contentItemOf(manifest), kind };
  } catch (error) {
    if (error instanceof ContentStoreError || error instanceof UnsupportedContentError) throw new ContentUploadError(400, error.message, { cause: error });
    if (bytes === 0 || request.readableAborted) throw new ContentUploadError(400, `the upload broke off after ${bytes} bytes: ${(error as Error).message}`, { cause: error });
    throw error;
  } finally {
    await rm(file, { force: true }); // the store keeps its own copy; a half upload is not content
  }
}
