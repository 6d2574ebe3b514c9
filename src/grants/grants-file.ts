// The grants a node issued, in <home>/grants.json (written by `infernet pair`), and what paired phones did, in
// <home>/phone-activity.json (written by the daemon). Two files, one writer each, so the CLI and a running
// daemon never overwrite each other; both are replaced atomically (temporary file and rename).
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { NostrEvent } from '../protocol/index.js';
import { InfernetError } from '../errors/index.js';

export const StoredGrant = z.object({
  event: NostrEvent,
  revokedAt: z.number().int().positive().optional(),
  /** The PocketBase `users` record the phone signs in with to read the node's job history. */
  appAccount: z.object({ email: z.string(), recordId: z.string() }).optional(),
});
export type StoredGrant = z.infer<typeof StoredGrant>;
const GrantsFile = z.object({ grants: z.array(StoredGrant) });

export const PushToken = z.object({
  token: z.string().min(1).max(4096),
  platform: z.enum(['ios', 'android', 'web', 'expo']),
  registeredAt: z.number().int().positive(),
});
export type PushToken = z.infer<typeof PushToken>;
export const PhoneActivity = z.object({ jobs: z.array(z.number().int()), pushTokens: z.array(PushToken) });
export type PhoneActivity = z.infer<typeof PhoneActivity>;
const ActivityFile = z.object({ phones: z.record(z.string(), PhoneActivity) });

export class GrantsFileError extends InfernetError {
  override readonly name = 'GrantsFileError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('internal', message, options);
  }
}

export const grantsFileOf = (homeDir: string): string => join(homeDir, 'grants.json');
export const activityFileOf = (homeDir: string): string => join(homeDir, 'phone-activity.json');

export async function readGrants(path: string): Promise<StoredGrant[]> {
  return (await readJson(path, GrantsFile, { grants: [] })).grants;
}

export async function writeGrants(path: string, grants: StoredGrant[]): Promise<void> {
  await writeJsonAtomically(path, { grants });
}

export async function readActivity(path: string): Promise<Record<string, PhoneActivity>> {
  return (await readJson(path, ActivityFile, { phones: {} })).phones;
}

export async function writeActivity(path: string, phones: Record<string, PhoneActivity>): Promise<void> {
  await writeJsonAtomically(path, { phones });
}

async function readJson<T>(path: string, schema: z.ZodType<T>, empty: T): Promise<T> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return empty;
    throw new GrantsFileError(`cannot read ${path}: ${(error as Error).message}`, { cause: error });
  }
  try {
    return schema.parse(JSON.parse(text));
  } catch (cause) {
    throw new GrantsFileError(`${path} is not a valid grants file: ${(cause as Error).message}`, { cause });
  }
}

async function writeJsonAtomically(path: string, value: unknown): Promise<void> {
  const partial = `${path}.${process.pid}.tmp`;
  await writeFile(partial, JSON.stringify(value, null, 2) + '\n', { mode: 0o600 });
  await rename(partial, path);
}
