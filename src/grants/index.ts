// Phone pairing: a node's signed, revocable grant that lets one phone key submit jobs within named limits.
export { EVENT_KIND_PAIRING_GRANT, DEFAULT_GRANT_LIMITS, GrantLimits, GrantTerms, GrantSignatureError, issueGrant, verifyGrant } from './grant.js';
export { admitJob, compareDecimals, JOB_WINDOW_MS, type AdmitJobParameters, type GrantRefusal, type GrantRefusalReason } from './admit-job.js';
export { PhoneGrants, type JobRefusal } from './phone-grants.js';
export { GrantsFileError, grantsFileOf, activityFileOf, type PushToken, type StoredGrant } from './grants-file.js';
export { pairPhone, listGrants, revokeGrants, runningPocketBaseUrl, GrantNotFoundError, type PairPhoneParameters, type PairPhoneReturnType, type GrantSummary } from './pair-phone.js';
export { JobPushReader, pushMessagesFor, PUSH_TIMEOUT_MS, type JobPushesOptions, type PushMessage } from './job-pushes.js';
