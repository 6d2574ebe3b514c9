// The PocketBase of a node home, for whoever needs it (the job store, the batch store): the configured external
// one or the one the home's daemon runs, connected as the superuser; else one started here, stopped on close().
import { connectPocketBase, PocketBaseAuthError, type PocketBaseConnection } from './pocketbase-connection.js';
import { BackendAlreadyRunningError, liveBackendUrl, startPocketBase } from './pocketbase-process.js';
import { loadOrCreateSuperuser } from './superuser-credentials.js';

/** A backend another process is still starting may refuse its superuser for a moment: retried this often. */
const CONNECT_ATTEMPTS = 20;
const CONNECT_RETRY_MS = 150;

export async function openHomePocketBase(homeDir: string, configuredUrl?: string): Promise<PocketBaseConnection> {
  const url = configuredUrl ?? (await liveBackendUrl(homeDir));
  if (url) return connectAsSuperuser(homeDir, url);
  try {
    return await startPocketBase({ home: homeDir });
  } catch (error) {
    // Another command on this home started one between our look and our start: share it.
    if (error instanceof BackendAlreadyRunningError) return connectAsSuperuser(homeDir, error.running.url);
    throw error;
  }
}

async function connectAsSuperuser(homeDir: string, url: string): Promise<PocketBaseConnection> {
  const { credentials } = await loadOrCreateSuperuser(homeDir);
  for (let attempt = 1; ; attempt++) {
    try {
      return await connectPocketBase({ url, superuser: credentials });
    } catch (error) {
      if (!(error instanceof PocketBaseAuthError) || attempt >= CONNECT_ATTEMPTS) throw error;
      await new Promise((resolve) => setTimeout(resolve, CONNECT_RETRY_MS));
    }
  }
}
