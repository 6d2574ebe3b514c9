// The node's database: a PocketBase backend (backend/, built by scripts/build-backend.sh) started as a child
// process or reached at an external URL, and the JobStore kept in it.
export { backendBinaryPath, backendSourceHash, requireBackendBinary, BackendNotBuiltError } from './backend-binary.js';
export type { BackendBinaryPathOptions } from './backend-binary.js';
export {
  startPocketBase,
  findRunningBackend,
  findSharedBackend,
  BackendStartError,
  BackendAlreadyRunningError,
} from './pocketbase-process.js';
export type { StartPocketBaseOptions, LocalPocketBase, PocketBaseExit, RunningBackend } from './pocketbase-process.js';
export { connectPocketBase, PocketBaseAuthError, PocketBaseRequestError } from './pocketbase-connection.js';
export type { ConnectPocketBaseOptions, PocketBaseConnection } from './pocketbase-connection.js';
export { loadOrCreateSuperuser, superuserFilePath, InvalidSuperuserFileError } from './superuser-credentials.js';
export type { SuperuserCredentials } from './superuser-credentials.js';
export { PocketBaseJobStore } from './pocketbase-job-store.js';
export type { JobChange, JobChangeAction, Unsubscribe } from './pocketbase-job-store.js';
export { PocketBaseFeedCursors } from './pocketbase-feed-cursors.js';
export { COLLECTIONS } from './collections.js';
export type * from './collections.js';
export { openHomePocketBase } from './open-home-pocketbase.js';
