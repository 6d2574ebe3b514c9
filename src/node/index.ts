// The daemon's wiring: a node's configuration turned into its components (the roles in src/client, src/aggregator
// and src/provider, and the front ends over them), started and stopped together.
export { NodeDaemon, AGENT, type NodeDaemonOptions } from './node-daemon.js';
export { readLiveDaemonState, type DaemonState } from './daemon-state.js';
export { guardDaemonProcess, isPeerStreamError, uncaughtErrorAction, type UncaughtErrorAction } from './process-guards.js';
