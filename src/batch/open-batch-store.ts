// Opens the batch store of a node home: its PocketBase (the one the daemon runs, an external one, or one started
// here for the moment when no daemon runs). Batches need PocketBase: a home with `storage: { backend: file }`
// is refused with the reason.
import type { NodeConfig, NodeHome } from '../config/index.js';
import { BackendAlreadyRunningError, connectPocketBase, liveBackendUrl, loadOrCreateSuperuser, PocketBaseAuthError, startPocketBase, type PocketBaseConnection } from '../storage/index.js';
import { PocketBaseBatchStore, type BatchStore } from './batch-store.js';

export class BatchStorageUnavailableError extends Error {
  override readonly name = 'BatchStorageUnavailableError';
}

export interface OpenedBatchStore {
  store: BatchStore;
  close(): Promise<void>;
}

const CONNECT_ATTEMPTS = 20;
const CONNECT_RETRY_MS = 150;

export async function openBatchStore(home: NodeHome, config: NodeConfig): Promise<OpenedBatchStore> {
  if (config.storage.backend === 'file') {
    throw new BatchStorageUnavailableError(`batches are kept in PocketBase, but ${home.dir} keeps its jobs in a file (storage.backend: file): use storage.backend: pocketbase`);
  }
  const url = config.storage.url ?? (await liveBackendUrl(home.dir));
  if (url) return opened(await connect(home.dir, url));
  try {
    const started = await startPocketBase({ home: home.dir });
    return opened(started);
  } catch (error) {
    if (error instanceof BackendAlreadyRunningError) return opened(await connect(home.dir, error.running.url));
    throw error;
  }
}

function opened(connection: PocketBaseConnection): OpenedBatchStore {
  return { store: new PocketBaseBatchStore(connection.client), close: () => connection.close() };
}

/** The superuser may be refused for a moment while another process is still creating it. */
async function connect(homeDir: string, url: string): Promise<PocketBaseConnection> {
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

