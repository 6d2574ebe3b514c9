// Opens the job store a node home is configured for: its PocketBase (started here, or the one its running
// daemon started, or an external URL), or the plain file store.
import type PocketBase from 'pocketbase';
import type { NodeConfig, NodeHome } from '../config/index.js';
import { FileFeedCursors, FileJobStore, type JobFeedCursors, type JobStore } from '../jobs/index.js';
import type { Logger } from '../log/index.js';
import { openHomePocketBase, PocketBaseFeedCursors, PocketBaseJobStore } from '../storage/index.js';

export interface NodeStore {
  store: JobStore;
  /** Where the readers of the store's job event feed are (src/jobs/job-event-feed.ts). */
  cursors: JobFeedCursors;
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
    return { store, cursors: new FileFeedCursors(home.feedCursorsFile), location: home.jobsFile, close: () => store.close() };
  }
  const connection = await openHomePocketBase(home.dir, config.storage.url);
  logger.debug({ location: connection.url }, 'job store on PocketBase');
  const store = new PocketBaseJobStore(connection.client);
  return {
    store,
    cursors: new PocketBaseFeedCursors(connection.client),
    location: connection.url,
    pocketbase: connection.client,
    close: async () => {
      await store.close();
      await connection.close();
    },
  };
}

