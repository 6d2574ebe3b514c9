// The PocketBase of a node home, for whoever needs it (the job store, the batch store): the configured external
// one, or the home's backend that live processes (the daemon, other commands) share, connected as the superuser;
// else one started here. The backend runs while any of them uses it, whoever started it (backend-users.ts).
import { connectPocketBase, PocketBaseAuthError, type PocketBaseConnection } from './pocketbase-connection.js';
import { startOrJoinPocketBase } from './pocketbase-process.js';
import { loadOrCreateSuperuser } from './superuser-credentials.js';

/** A backend another process is still starting may refuse its superuser for a moment: retried this often. */
const CONNECT_ATTEMPTS = 20;
const CONNECT_RETRY_MS = 150;

export async function openHomePocketBase(homeDir: string, configuredUrl?: string): Promise<PocketBaseConnection> {
  if (configuredUrl) return connectAsSuperuser(homeDir, configuredUrl);
  return startOrJoinPocketBase({ home: homeDir }, (running) => connectAsSuperuser(homeDir, running.url));
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
