// The mobile app's network layer: everything that talks to the paired node. Pure TypeScript over the browser
// WebSocket API, nostr-tools and the PocketBase SDK, so it runs in React Native, the web build and Node tests.
export { PhoneClient, type PhoneClientListener, type PushPlatform } from './phone-client.js';
export { NodeSession, NodeSessionError, browserWebSocket, checkSocketSecurity, MOBILE_AGENT, type WebSocketFactory, type WebSocketLike } from './node-session.js';
export { submitJob, newJobId, type JobEvent, type JobStatus, type SubmitJobParameters, type SubmittedJob } from './submit-job.js';
export { JobHistory, HistoryUnavailableError, type JobLogSnapshot, type ProviderSummary } from './job-history.js';
export { notificationFor, type JobNotification } from './notifications.js';
export { generatePhoneKey, nsecOf, phoneKeyFromNsec, phoneKeyFromSecret, publicKeyOfNpub, PhoneKeyError, type PhoneKey } from './phone-key.js';
export { parsePairingLink, formatPairingLink, PairingLinkError, type PairingLink, type JobRow, type JobEventRow, type LogRow, type Price } from './protocol.js';
