export { NodeDaemon, AGENT, type NodeDaemonOptions } from './node-daemon.js';
export { runJob, payJobsThrough, JobFailedError, type JobHooks, type JobOutcome } from './job-client.js';
export { readLiveDaemonState, type DaemonState } from './daemon-state.js';
export { ModelCatalog, modelNameOf } from './model-catalog.js';
export { rankProviders } from './provider-selection.js';
export { sha256Hex } from './job-envelopes.js';
export { requestNetworkModels, ModelListUnavailableError } from './network-models.js';
