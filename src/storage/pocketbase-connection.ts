// A PocketBase client authenticated as the node's superuser, for a backend this node started or for an
// external PocketBase the operator runs.
import PocketBase, { ClientResponseError } from 'pocketbase';
import { COLLECTIONS } from './collections.js';
import type { SuperuserCredentials } from './superuser-credentials.js';
import { InfernetError } from '../errors/index.js';

/** Re-authenticates when the superuser token has less than this left (the token lives a day by default). */
const AUTH_REFRESH_THRESHOLD_S = 30 * 60;

export interface PocketBaseConnection {
  readonly url: string;
  /** Authenticated as the superuser; autoCancellation is off, so concurrent requests never cancel each other. */
  readonly client: PocketBase;
  /** Closes realtime subscriptions and, for a backend this node started, stops it. */
  close(): Promise<void>;
}

export interface ConnectPocketBaseOptions {
  url: string;
  superuser: SuperuserCredentials;
}

export class PocketBaseAuthError extends InfernetError {
  override readonly name = 'PocketBaseAuthError';
  constructor(
    readonly url: string,
    readonly email: string,
    options?: ErrorOptions,
  ) {
    super('internal', `PocketBase at ${url} refused the superuser ${email}: check the credentials`, options);
  }
}

/** Connects to a PocketBase that something else runs (its schema must come from backend/migrations). */
export async function connectPocketBase(options: ConnectPocketBaseOptions): Promise<PocketBaseConnection> {
  const client = await superuserClient(options.url, options.superuser);
  return { url: options.url, client, close: async () => closeClient(client) };
}

export async function superuserClient(url: string, superuser: SuperuserCredentials): Promise<PocketBase> {
  const client = new PocketBase(url);
  client.autoCancellation(false);
  try {
    await client.collection(COLLECTIONS.superusers).authWithPassword(superuser.email, superuser.password, {
      autoRefreshThreshold: AUTH_REFRESH_THRESHOLD_S,
    });
  } catch (error) {
    const status = pocketBaseStatus(error);
    if (status === 400 || status === 401 || status === 403) throw new PocketBaseAuthError(url, superuser.email, { cause: error });
    throw new PocketBaseRequestError(`log in as the superuser at ${url}`, status ?? 0, { cause: error });
  }
  return client;
}

/** Ends the realtime connection too: a client left subscribed keeps reconnecting and keeps Node alive. */
export async function closeClient(client: PocketBase): Promise<void> {
  client.cancelAllRequests();
  await client.realtime.unsubscribe().catch(() => undefined);
  client.authStore.clear();
}

export class PocketBaseRequestError extends InfernetError {
  override readonly name = 'PocketBaseRequestError';
  constructor(
    readonly operation: string,
    readonly status: number,
    options?: ErrorOptions,
  ) {
    super('internal', 
      status === 0
        ? `could not reach PocketBase while trying to ${operation}: is the backend running?`
        : `PocketBase answered ${status} while trying to ${operation}`,
      options,
    );
  }
}

/** The HTTP status of a failed PocketBase request (0: no answer), or undefined for any other error. */
export function pocketBaseStatus(error: unknown): number | undefined {
  return error instanceof ClientResponseError ? error.status : undefined;
}

/** An SDK error as a PocketBaseRequestError naming the operation; anything else (a bug, an abort) as it is. */
export function wrapRequestError(operation: string, error: unknown): unknown {
  const status = pocketBaseStatus(error);
  return status === undefined ? error : new PocketBaseRequestError(operation, status, { cause: error });
}
