// Opens the job store a node home is configured for: its PocketBase (started here, or the one its running
// daemon started, or an external URL), or the plain file store.
import type PocketBase from 'pocketbase';
import type { NodeConfig, NodeHome } from '../config/index.js';
import { FileJobStore, type JobStore } from '../jobs/index.js';
import type { Logger } from '../log/index.js';
import { BackendAlreadyRunningError, connectPocketBase, PocketBaseAuthError, liveBackendUrl, loadOrCreateSuperuser, PocketBaseJobStore, startPocketBase } from '../storage/index.js';

export interface NodeStore {
  store: JobStore;
  /** Where the data lives, for `status`. */
  location: string;
  /** The superuser client of the node's PocketBase (absent for the file store): the payment ledger lives there. */
  pocketbase?: PocketBase;
  /** Closes the store and stops the PocketBase this call started, if any. */
  close(): Promise<void>;
}

export async function openNodeStore(home: NodeHome, config: NodeConfig, logger: Logger): Promise<NodeStore> {
  if (config.storage.backend === 'file') {
    const store = new FileJobStore(home.jobsFile);
    return { store, location: home.jobsFile, close: () => store.close() };
  }
  const url = config.storage.url ?? (await liveBackendUrl(home.dir));
  if (url) return connectTo(home, url);
  try {
    const pocketbase = await startPocketBase({ home: home.dir });
    void pocketbase.exited.then((exit) => logger.debug({ exit }, 'PocketBase stopped'));
    const store = new PocketBaseJobStore(pocketbase.client);
    return {
      store,
      location: pocketbase.url,
      pocketbase: pocketbase.client,
      close: async () => {
        await store.close();
        await pocketbase.stop();
      },
    };
  } catch (error) {
    // Another command on this home started one between our look and our start: share it.
    if (error instanceof BackendAlreadyRunningError) return connectTo(home, error.running.url);
    throw error;
  }
}

/** A backend another process is still starting may refuse its superuser for a moment: retry briefly. */
const CONNECT_ATTEMPTS = 20;
const CONNECT_RETRY_MS = 150;

async function connectTo(home: NodeHome, url: string): Promise<NodeStore> {
  const { credentials } = await loadOrCreateSuperuser(home.dir);
  let connection: Awaited<ReturnType<typeof connectPocketBase>> | undefined;
  for (let attempt = 1; !connection; attempt++) {
    try {
      connection = await connectPocketBase({ url, superuser: credentials });
    } catch (error) {
      if (!(error instanceof PocketBaseAuthError) || attempt >= CONNECT_ATTEMPTS) throw error;
      await new Promise((resolve) => setTimeout(resolve, CONNECT_RETRY_MS));
    }
  }
  const store = new PocketBaseJobStore(connection.client);
  return {
    store,
    location: url,
    pocketbase: connection.client,
    close: async () => {
      await store.close();
      await connection.close();
    },
  };
}

