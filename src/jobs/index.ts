export * from './state-machine.js';
export type * from './job-record.js';
export * from './job-store.js';
export { FileJobStore } from './file-job-store.js';
export { JobProgressRecorder } from './job-progress-recorder.js';
export { ForwardingJobStore } from './forwarding-job-store.js';
export { endOrphanedClientJobs } from './orphaned-client-jobs.js';
export * from './job-failover.js';
export { sha256Hex, outputHashOf, sealJobSpec, openJobSpec, sealJobResult, verifyJobResult, openJobResult, type ResultSummary } from './job-envelopes.js';
