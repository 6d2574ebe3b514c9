// Opens the batch store of a node home: its PocketBase (the one the daemon runs, an external one, or one started
// here for the moment when no daemon runs). Batches need PocketBase: a home with `storage: { backend: file }`
// is refused with the reason.
import type { NodeConfig, NodeHome } from '../config/index.js';
import { openHomePocketBase } from '../storage/index.js';
import { PocketBaseBatchStore, type BatchStore } from './batch-store.js';
import { InfernetError } from '../errors/index.js';

export class BatchStorageUnavailableError extends InfernetError {
  override readonly name = 'BatchStorageUnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('internal', message, options);
  }
}

export interface OpenedBatchStore {
  store: BatchStore;
  close(): Promise<void>;
}

export async function openBatchStore(home: NodeHome, config: NodeConfig): Promise<OpenedBatchStore> {
  if (config.storage.backend === 'file') {
    throw new BatchStorageUnavailableError(`batches are kept in PocketBase, but ${home.dir} keeps its jobs in a file (storage.backend: file): use storage.backend: pocketbase`);
  }
  const connection = await openHomePocketBase(home.dir, config.storage.url);
  return { store: new PocketBaseBatchStore(connection.client), close: () => connection.close() };
}
