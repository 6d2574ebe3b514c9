// The OpenAI-compatible HTTP API: the server a client or all-in-one node runs, and its API keys.
export { startApiServer, ApiServerListenError, type ApiServer, type ApiServerOptions } from './api-server.js';
export { ApiError, type ApiErrorBody } from './api-error.js';
export { createApiKey, listApiKeys, revokeApiKey, hashApiKey, ApiKeyVerifier, ApiKeyFileError, ApiKeyNotFoundError, API_KEY_PREFIX, type StoredApiKey } from './api-keys.js';
export { apiKeysFileOf } from './api-keys-file.js';
