// The client role: runs jobs through an aggregator for every front end of a node (CLI, HTTP APIs, interfaces, batches).
export { runClientJob, clientJobFailureOf, type RunClientJobParameters, type RunClientJobReturnType, type ClientJobHooks, type ClientJobFailure } from './run-client-job.js';
export { ClientJobRecord } from './client-job-record.js';
