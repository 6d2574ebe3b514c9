// The node's PocketBase superuser: generated on first start and kept beside the data, readable by the node's
// user only, so that the daemon and the CLI of one node home authenticate as the same superuser.
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { InfernetError } from '../errors/index.js';

export interface SuperuserCredentials {
  email: string;
  password: string;
}

export const SUPERUSER_FILE_NAME = 'pocketbase-superuser.json';
const SUPERUSER_EMAIL = 'node@infernet.local';
const OWNER_ONLY = 0o600;

export class InvalidSuperuserFileError extends InfernetError {
  override readonly name = 'InvalidSuperuserFileError';
  constructor(
    readonly path: string,
    options?: ErrorOptions,
  ) {
    super('internal', `${path} does not hold {"email", "password"}: restore it, or delete it with the pocketbase folder to start afresh`, options);
  }
}

export function superuserFilePath(home: string): string {
  return join(home, SUPERUSER_FILE_NAME);
}

/** Reads the node's superuser, or generates and saves one; `created` says the backend does not know it yet. */
export async function loadOrCreateSuperuser(home: string): Promise<{ credentials: SuperuserCredentials; created: boolean }> {
  const path = superuserFilePath(home);
  const existing = await readSuperuser(path);
  if (existing) return { credentials: existing, created: false };
  const credentials: SuperuserCredentials = { email: SUPERUSER_EMAIL, password: randomBytes(24).toString('base64url') };
  await mkdir(dirname(path), { recursive: true });
  try {
    // 'wx': a second process starting at the same moment keeps the first one's password instead of replacing it.
    await writeFile(path, JSON.stringify(credentials, null, 2) + '\n', { mode: OWNER_ONLY, flag: 'wx' });
  } catch (error) {
    const raced = (error as NodeJS.ErrnoException).code === 'EEXIST' ? await readSuperuser(path) : undefined;
    if (raced) return { credentials: raced, created: false };
    throw error;
  }
  return { credentials, created: true };
}

async function readSuperuser(path: string): Promise<SuperuserCredentials | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  let parsed: Partial<SuperuserCredentials>;
  try {
    parsed = JSON.parse(text) as Partial<SuperuserCredentials>;
  } catch (error) {
    throw new InvalidSuperuserFileError(path, { cause: error });
  }
  if (typeof parsed.email !== 'string' || typeof parsed.password !== 'string') throw new InvalidSuperuserFileError(path);
  await chmod(path, OWNER_ONLY); // a copy or restore may have widened it
  return { email: parsed.email, password: parsed.password };
}
