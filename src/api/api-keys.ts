// API keys for the HTTP API: random bearer tokens shown once at creation. The node keeps only their sha256, a
// label and the creation time, in one JSON file (mode 0600) that the daemon re-reads when it changes, so keys
// created or revoked while it runs take effect at the next request.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile, rename, stat, writeFile } from 'node:fs/promises';
import { z } from 'zod';
import { InfernetError } from '../errors/index.js';

export const API_KEY_PREFIX = 'inf_';
const API_KEY_BYTES = 32;
/** Hex characters of the hash that name a key in `apikey list` and `apikey revoke`. */
const API_KEY_ID_LENGTH = 12;

const StoredApiKey = z.object({
  id: z.string().regex(/^[0-9a-f]+$/),
  label: z.string().max(256),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  createdAt: z.iso.datetime(),
});
export type StoredApiKey = z.infer<typeof StoredApiKey>;

const ApiKeysFile = z.object({ keys: z.array(StoredApiKey) });

export class ApiKeyFileError extends InfernetError {
  override readonly name = 'ApiKeyFileError';
  constructor(
    readonly path: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super('internal', message, options);
  }
}

export class ApiKeyNotFoundError extends InfernetError {
  override readonly name = 'ApiKeyNotFoundError';
  constructor(readonly idOrLabel: string) {
    super('internal', `no API key with id or label "${idOrLabel}" (see \`infernet apikey list\`)`);
  }
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

export interface CreateApiKeyReturnType {
  /** The bearer token: shown once, never stored. */
  key: string;
  record: StoredApiKey;
}

export async function createApiKey(path: string, label = ''): Promise<CreateApiKeyReturnType> {
  const key = API_KEY_PREFIX + randomBytes(API_KEY_BYTES).toString('base64url');
  const sha256 = hashApiKey(key);
  const record: StoredApiKey = { id: sha256.slice(0, API_KEY_ID_LENGTH), label, sha256, createdAt: new Date().toISOString() };
  await writeApiKeys(path, [...(await listApiKeys(path)), record]);
  return { key, record };
}

/** The stored keys; none when the file does not exist yet. */
export async function listApiKeys(path: string): Promise<StoredApiKey[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new ApiKeyFileError(path, `cannot read ${path}: ${(error as Error).message}`, { cause: error });
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (cause) {
    throw new ApiKeyFileError(path, `${path} is not valid JSON`, { cause });
  }
  const parsed = ApiKeysFile.safeParse(data);
  if (!parsed.success) throw new ApiKeyFileError(path, `${path}: ${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}`);
  return parsed.data.keys;
}

/** Removes the key with this id or label; returns what was removed. */
export async function revokeApiKey(path: string, idOrLabel: string): Promise<StoredApiKey[]> {
  const keys = await listApiKeys(path);
  const revoked = keys.filter((key) => key.id === idOrLabel || (key.label !== '' && key.label === idOrLabel));
  if (!revoked.length) throw new ApiKeyNotFoundError(idOrLabel);
  await writeApiKeys(path, keys.filter((key) => !revoked.includes(key)));
  return revoked;
}

/** Written to a temporary file and renamed, so the daemon never reads half a file. */
async function writeApiKeys(path: string, keys: StoredApiKey[]): Promise<void> {
  const partial = `${path}.${process.pid}.tmp`;
  await writeFile(partial, JSON.stringify({ keys }, null, 2) + '\n', { mode: 0o600 });
  await rename(partial, path);
}

/** Checks presented bearer tokens against the key file, re-reading it only when it changed on disk. */
export class ApiKeyVerifier {
  private loadedVersion = '';
  private hashes: Array<{ key: StoredApiKey; digest: Buffer }> = [];

  constructor(private readonly path: string) {}

  /** The stored key the token belongs to, or undefined. */
  async verify(token: string): Promise<StoredApiKey | undefined> {
    await this.refresh();
    const digest = Buffer.from(hashApiKey(token), 'hex');
    // Every stored hash is compared in constant time, so the answer's timing says nothing about near misses.
    let match: StoredApiKey | undefined;
    for (const entry of this.hashes) if (timingSafeEqual(entry.digest, digest)) match = entry.key;
    return match;
  }

  /** Whether any key exists: without one, the 401 tells the operator how to create one. */
  async hasKeys(): Promise<boolean> {
    await this.refresh();
    return this.hashes.length > 0;
  }

  private async refresh(): Promise<void> {
    const info = await stat(this.path).catch(() => undefined);
    const version = info ? `${info.mtimeMs}:${info.size}:${info.ino}` : 'none';
    if (version === this.loadedVersion) return;
    const keys = info ? await listApiKeys(this.path) : [];
    this.hashes = keys.map((key) => ({ key, digest: Buffer.from(key.sha256, 'hex') }));
    this.loadedVersion = version;
  }
}
